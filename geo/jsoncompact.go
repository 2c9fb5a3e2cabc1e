package geo

// maxJSONDepth is encoding/json's nesting limit: its scanner rejects the
// 10,001st open bracket, and so does compactJSON, so both accept the same
// documents.
const maxJSONDepth = 10000

// jsonStrPlain marks the bytes a JSON string may hold as they are: not the
// closing quote, not a backslash, not a control character. encoding/json's
// scanner does not check UTF-8, so every byte from 0x20 up except '"' and
// '\\' is plain.
var jsonStrPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// compactJSON returns src without insignificant white space (what
// json.Compact writes) and whether src is valid JSON (what json.Valid
// says). When src has no white space outside its strings it is returned
// itself, not copied.
//
// Every incident's raw row goes through here on the way to a store, and raw
// rows have spaces inside their strings ("3300 N TEST ST"), so the check for
// any white-space byte that let json.Valid stand in for json.Compact rarely
// applied; encoding/json's scanner takes a function call per byte, and
// compacting was a tenth of a load's Go time. This is one pass with a loop
// per string, a few times faster; the fuzz test holds it to encoding/json.
func compactJSON(src []byte) ([]byte, bool) {
	c := jsonCompactor{src: src}
	if !c.run() {
		return nil, false
	}
	if c.dst == nil {
		return src, true
	}
	return append(c.dst, src[c.start:]...), true
}

// jsonCompactor is compactJSON's state: the input, the position, the open
// containers ('{' or '['), and the output once any white space was dropped
// (src[start:i] is still to be copied to it).
type jsonCompactor struct {
	src   []byte
	i     int
	dst   []byte
	start int
}

// Grammar positions of jsonCompactor.run.
const (
	wantValue      = iota // any value
	wantKey               // a member's key string
	wantKeyOrClose        // a key or '}', after '{'
	afterValue            // ',', a closing bracket, or the end
)

func (c *jsonCompactor) run() bool {
	src := c.src
	// The open containers, '{' or '[', innermost last: a local, so that
	// shallow documents keep it on the stack.
	var stackArr [32]byte
	stack := stackArr[:0]
	state := wantValue
	for {
		c.skipSpace()
		i := c.i
		if i >= len(src) {
			// Only the end of a complete top-level value is valid here.
			return state == afterValue && len(stack) == 0
		}
		b := src[i]
		switch state {
		case wantKeyOrClose:
			if b == '}' {
				stack = stack[:len(stack)-1]
				c.i++
				state = afterValue
				continue
			}
			fallthrough
		case wantKey:
			if b != '"' || !c.str() {
				return false
			}
			c.skipSpace()
			if c.i >= len(src) || src[c.i] != ':' {
				return false
			}
			c.i++
			state = wantValue
		case wantValue:
			switch {
			case b == '{' || b == '[':
				if len(stack) >= maxJSONDepth {
					return false
				}
				stack = append(stack, b)
				c.i++
				if b == '{' {
					state = wantKeyOrClose
					continue
				}
				c.skipSpace()
				if c.i < len(src) && src[c.i] == ']' {
					stack = stack[:len(stack)-1]
					c.i++
					state = afterValue
				}
				continue
			case b == '"':
				if !c.str() {
					return false
				}
			case b == '-' || isDigit(b):
				if !c.number() {
					return false
				}
			case b == 't':
				if !c.literal("true") {
					return false
				}
			case b == 'f':
				if !c.literal("false") {
					return false
				}
			case b == 'n':
				if !c.literal("null") {
					return false
				}
			default:
				return false
			}
			state = afterValue
		case afterValue:
			if len(stack) == 0 {
				return false // something after the top-level value
			}
			top := stack[len(stack)-1]
			switch {
			case b == ',':
				c.i++
				state = wantValue
				if top == '{' {
					state = wantKey
				}
			case b == '}' && top == '{', b == ']' && top == '[':
				stack = stack[:len(stack)-1]
				c.i++
			default:
				return false
			}
		}
	}
}

// skipSpace moves past white space, dropping it from the output.
func (c *jsonCompactor) skipSpace() {
	i := c.i
	for i < len(c.src) && isJSONSpace(c.src[i]) {
		i++
	}
	if i == c.i {
		return
	}
	if c.dst == nil {
		c.dst = make([]byte, 0, len(c.src))
	}
	c.dst = append(c.dst, c.src[c.start:c.i]...)
	c.i, c.start = i, i
}

// str moves past the string starting at the quote at c.i.
func (c *jsonCompactor) str() bool {
	src := c.src
	i := c.i + 1
	for {
		for i < len(src) && jsonStrPlain[src[i]] {
			i++
		}
		if i >= len(src) {
			return false
		}
		switch src[i] {
		case '"':
			c.i = i + 1
			return true
		case '\\':
			if i+1 >= len(src) {
				return false
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(src) || !isHex(src[i+2]) || !isHex(src[i+3]) || !isHex(src[i+4]) || !isHex(src[i+5]) {
					return false
				}
				i += 6
			default:
				return false
			}
		default:
			return false // a control character
		}
	}
}

// number moves past the number starting at c.i: -?(0|[1-9][0-9]*),
// then optionally a fraction and an exponent, each with at least one digit.
func (c *jsonCompactor) number() bool {
	src := c.src
	i := c.i
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && isDigit(src[i]):
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if i >= len(src) || !isDigit(src[i]) {
			return false
		}
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i >= len(src) || !isDigit(src[i]) {
			return false
		}
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	c.i = i
	return true
}

// literal moves past lit (true, false or null) at c.i.
func (c *jsonCompactor) literal(lit string) bool {
	if len(c.src)-c.i < len(lit) || string(c.src[c.i:c.i+len(lit)]) != lit {
		return false
	}
	c.i += len(lit)
	return true
}
