# The two commands a newcomer needs: `make serve` and `make test`.
.PHONY: serve test bench build

serve:
	go run ./cmd/accountd serve

test:
	go test -race -count=1 ./...

bench:
	go test -run '^$$' -bench . -benchtime 3s ./eventstore/sqlite/

build:
	go build -o accountd ./cmd/accountd
