package evidence

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// parseCheckpoint reads a C2SP tlog-checkpoint body: origin, tree size, base64 root hash,
// then optional extension lines.
func parseCheckpoint(text string) (tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return tlog.Tree{}, fmt.Errorf("not a checkpoint: want origin, tree size and root hash lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 {
		return tlog.Tree{}, fmt.Errorf("not a checkpoint: tree size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("not a checkpoint: root hash %q", lines[2])
	}
	t := tlog.Tree{N: n}
	copy(t.Hash[:], h)
	return t, nil
}
