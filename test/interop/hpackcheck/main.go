// hpackcheck: golang.org/x/net/http2/hpack's decoder as an oracle for test/interop/hpack-go.test.ts.
// stdin, one command a line:
//
//	conn <maxTableSize>   a new decoder (a new connection) with that table size and limit
//	<hex>                 one header block
//
// stdout, one JSON line per block: {"fields":[["<name hex>","<value hex>"],...]} or {"err":"..."}.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

type result struct {
	Fields [][2]string `json:"fields"`
	Err    string      `json:"err,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	var dec *hpack.Decoder
	for in.Scan() {
		line := in.Text()
		if size, ok := strings.CutPrefix(line, "conn "); ok {
			n, _ := strconv.Atoi(size)
			dec = hpack.NewDecoder(uint32(n), nil)
			dec.SetAllowedMaxDynamicTableSize(uint32(n))
			continue
		}
		block, err := hex.DecodeString(line)
		if err != nil {
			panic(err)
		}
		fields, err := dec.DecodeFull(block)
		r := result{Fields: [][2]string{}}
		if err != nil {
			r = result{Err: err.Error()}
		} else {
			for _, f := range fields {
				r.Fields = append(r.Fields, [2]string{hex.EncodeToString([]byte(f.Name)), hex.EncodeToString([]byte(f.Value))})
			}
		}
		if err := out.Encode(r); err != nil {
			panic(err)
		}
	}
}
