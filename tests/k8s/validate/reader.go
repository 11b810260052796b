package validate

import (
	"bufio"
	"bytes"
	"io"
)

var errEOF = io.EOF

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
