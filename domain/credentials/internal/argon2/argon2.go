// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2 (v0.58.0, its LICENSE beside this file)
// cut down to Argon2id, with two changes: IDKey takes the block array from the caller, and
// a block array kept for reuse lives on huge pages.
//
// x/crypto's IDKey allocates its m KiB block array on every call and has no variant that
// takes one (golang/go#36634 is open). At the OWASP cost, 19 MiB a sign-in: the runtime
// zeroes each allocation (5% of the login path's CPU), the heap grows by it and its GC
// runs far more often, and pages the scavenger returned fault back in. A Hasher that runs
// one hash per core keeps one Buffer per core instead.
//
// x/crypto can take fresh memory because its first pass XORs each new block into the
// array, relying on the zeroes. Argon2 v1.3 overwrites the blocks in the first pass and
// XORs only in the later ones, which is what IDKey here does, so a reused buffer's old
// contents never reach the output. buffer_test.go checks the outputs against x/crypto's
// for random inputs and against RFC 9106's test vector.
//
// The second pass reads one block at random from the whole array for every block it
// writes: with 4 KiB pages a 19 MiB array spans 4,864 of them, more than the TLB holds, so
// nearly every such read also walks the page tables, and every context switch that flushes
// the TLB (on a paravirtualised machine, each return from the kernel) makes the next reads
// walk them again. A Buffer's array is mapped outside the Go heap on transparent huge pages
// (internal/hugepages), ten of them for 19 MiB, where the system allows it.
package argon2

import (
	"encoding/binary"
	"runtime"
	"sync"
	"unsafe"

	"accountd/internal/hugepages"

	"golang.org/x/crypto/blake2b"
)

// The Argon2 version implemented by this package.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// Buffer is the block array of one computation at a time, kept for the next.
type Buffer struct {
	blocks  []block
	mapping []byte // where blocks live, off the heap; nil when they are on the heap
	cleanup runtime.Cleanup
}

// grow gives buf room for n blocks, on huge pages where the system allows. Its old array
// is given back: nothing may use it afterwards (one computation at a time uses a Buffer).
func (buf *Buffer) grow(n uint32) {
	if uint32(len(buf.blocks)) >= n {
		return
	}
	buf.cleanup.Stop()
	hugepages.Unmap(buf.mapping)
	buf.blocks, buf.mapping, buf.cleanup = nil, nil, runtime.Cleanup{}
	size := int(n) * int(unsafe.Sizeof(block{}))
	if size < hugepages.Size {
		buf.blocks = make([]block, n)
		return
	}
	mapping, aligned := hugepages.Map(size)
	if mapping == nil {
		buf.blocks = make([]block, n)
		return
	}
	buf.blocks = unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(aligned))), n)
	buf.mapping = mapping
	buf.cleanup = runtime.AddCleanup(buf, hugepages.Unmap, mapping)
}

// IDKey derives a key from the password, salt and cost parameters using Argon2id, as
// golang.org/x/crypto/argon2.IDKey does, in buf's block array (grown if it is smaller than
// memory KiB; buf may be nil, for a one-off). The CPU cost and parallelism degree must be
// greater than zero. buf must not be used by two calls at once.
func IDKey(buf *Buffer, password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(buf, argon2id, password, salt, nil, nil, time, memory, threads, keyLen)
}

func deriveKey(buf *Buffer, mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	if buf == nil {
		// A one-off: a mapping would cost more system calls than the heap's zeroing.
		buf = &Buffer{blocks: make([]block, memory)}
	}
	buf.grow(memory)
	B := buf.blocks[:memory]
	initBlocks(B, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode)
	return extractKey(B, memory, uint32(threads), keyLen)
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of every lane; processBlocks writes every other
// block in its first pass before any block reads it.
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// Argon2 v1.3 overwrites in the first pass (x/crypto XORs into
				// zeroed memory, which comes to the same): the buffer's old blocks
				// must not leak into the result.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			if threads == 1 {
				// One lane needs no goroutine: x/crypto starts one per segment and
				// waits for it, eight hand-overs a hash at t=2.
				wg.Add(1)
				processSegment(n, slice, 0, &wg)
				continue
			}
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
