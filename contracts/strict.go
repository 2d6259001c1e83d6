package contracts

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// encoding/json (as of Go 1.26, without GOEXPERIMENT=jsonv2) reports paths
// without array indices or map keys ("phases.name"), names only the last key
// of an unknown field, passes errors from UnmarshalJSON methods through with
// no path at all, and matches keys case-insensitively. Outside input needs
// better: every problem names its full JSON path ("phases[1].batch",
// "checks.healthz.http.url"). So after encoding/json has decoded (and so
// checked the syntax), a walker goes over the document alongside the Go
// type to find what encoding/json let through or could not place.

// unknownKey decides about an object key the Go type lacks: nil skips it, an
// error rejects it. A nil unknownKey rejects every unknown key.
type unknownKey func(path, key string) error

// rejectUnknown is for outside input, where an unknown key is a typo.
var rejectUnknown unknownKey

// ignoreUnknown is for messages between services, which gain optional
// fields over time: an older reader must keep working during an upgrade.
func ignoreUnknown(string, string) error { return nil }

// DecodeStrict decodes JSON into v, rejecting unknown fields, fields whose
// case differs from the contract, repeated keys and trailing data. Errors are
// *Error values with code invalid_request whose Field is the JSON path of
// the problem.
func DecodeStrict(b []byte, v any) error { return decodeJSON(b, v, rejectUnknown) }

func decodeStrict(b []byte, v any) error { return decodeJSON(b, v, rejectUnknown) }

// decodeTolerant decodes like DecodeStrict but skips unknown keys.
func decodeTolerant(b []byte, v any) error { return decodeJSON(b, v, ignoreUnknown) }

func decodeJSON(b []byte, v any, unknown unknownKey) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("contracts: cannot decode into %T: need a non-nil pointer", v)
	}
	// encoding/json goes first: it checks the syntax on the way, so that
	// the walker, which needs good syntax, costs one more pass and no
	// json.Valid in the common case of good input.
	dec := json.NewDecoder(bytes.NewReader(b))
	if unknown == nil {
		dec.DisallowUnknownFields()
	}
	decErr := dec.Decode(v)
	if decErr == nil && len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return Invalid("", "unexpected data after the JSON value at byte %d", dec.InputOffset())
	}
	if decErr != nil && !json.Valid(b) {
		return syntaxOf(b)
	}
	w := walker{b: b, unknown: unknown}
	if err := w.value(rv.Type().Elem(), ""); err != nil {
		return err
	}
	if decErr != nil {
		// The walker accepted the document, so this is a case it does not
		// model.
		return jsonError(decErr)
	}
	return nil
}

// syntaxOf describes why b, which json.Valid rejected, is not JSON.
func syntaxOf(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return Invalid("", "is empty: expected a JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return syntaxProblem(err)
	}
	return Invalid("", "unexpected data after the JSON value at byte %d", dec.InputOffset())
}

// walker walks a document that json.Valid accepted alongside a Go type and
// stops at the first problem, which it reports with its path. As the syntax
// is known to be good, it only has to find where values begin and end.
type walker struct {
	b       []byte
	i       int
	unknown unknownKey
}

func (w *walker) value(t reflect.Type, path string) error {
	w.space()
	if w.b[w.i] == 'n' {
		w.i += len("null") // null leaves the value unset, as encoding/json does
		return nil
	}
	if isLeaf(t) {
		return leafProblem(t, w.skip(), path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if w.b[w.i] != '{' {
			return mismatch(path, "an object", w.skip())
		}
		return w.object(fieldsOf(t), path)
	case reflect.Map:
		if w.b[w.i] != '{' {
			return mismatch(path, "an object", w.skip())
		}
		return w.entries(t.Elem(), path)
	case reflect.Slice, reflect.Array:
		if w.b[w.i] != '[' {
			return mismatch(path, "a list", w.skip())
		}
		return w.list(t.Elem(), path)
	}
	return fmt.Errorf("contracts: cannot check JSON against %s", t)
}

func (w *walker) object(fields *structFields, path string) error {
	seen := make([]bool, len(fields.names))
	var seenUnknown map[string]bool
	w.i++ // '{'
	for {
		key, ok := w.next()
		if !ok {
			return nil
		}
		kpath := KeyPath(path, key)
		f, known := fields.byName[key]
		if known {
			if seen[f.index] {
				return Invalid(kpath, "appears more than once")
			}
			seen[f.index] = true
			var err error
			if f.quoted {
				err = quotedProblem(f.typ, w.skip(), kpath)
			} else {
				err = w.value(f.typ, kpath)
			}
			if err != nil {
				return err
			}
			continue
		}
		if seenUnknown[key] {
			return Invalid(kpath, "appears more than once")
		}
		// encoding/json would quietly match "ID" to "id"; a second reader
		// of the same bytes would not.
		if name, ok := fields.fold(key); ok {
			return Invalid(kpath, "is not a known field; did you mean %q?", name)
		}
		if w.unknown == nil {
			return Invalid(kpath, "is not a known field")
		}
		if err := w.unknown(path, key); err != nil {
			return err
		}
		if seenUnknown == nil {
			seenUnknown = map[string]bool{}
		}
		seenUnknown[key] = true
		w.skip()
	}
}

func (w *walker) entries(elem reflect.Type, path string) error {
	var seen map[string]bool
	w.i++ // '{'
	for {
		key, ok := w.next()
		if !ok {
			return nil
		}
		kpath := KeyPath(path, key)
		if seen[key] {
			return Invalid(kpath, "appears more than once")
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[key] = true
		if err := w.value(elem, kpath); err != nil {
			return err
		}
	}
}

func (w *walker) list(elem reflect.Type, path string) error {
	w.i++ // '['
	for i := 0; ; i++ {
		w.space()
		switch w.b[w.i] {
		case ']':
			w.i++
			return nil
		case ',':
			w.i++
		}
		if err := w.value(elem, IndexPath(path, i)); err != nil {
			return err
		}
	}
}

// next moves past the next key of an object and its ':' and returns the
// key, or moves past the closing brace and returns false.
func (w *walker) next() (string, bool) {
	w.space()
	switch w.b[w.i] {
	case '}':
		w.i++
		return "", false
	case ',':
		w.i++
	}
	key := unquote(w.skip())
	w.space()
	w.i++ // ':'
	return key, true
}

// unquote reads a valid JSON string literal as encoding/json does.
func unquote(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			_ = json.Unmarshal(raw, &s) // cannot fail: json.Valid accepted it
			return s
		}
	}
	return string(inner)
}

func (w *walker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// skip moves past one value and returns it.
func (w *walker) skip() []byte {
	w.space()
	start := w.i
	switch w.b[w.i] {
	case '"':
		w.skipString()
	case '{', '[':
		for depth := 0; ; {
			switch w.b[w.i] {
			case '"':
				w.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				break
			}
		}
	default:
		for w.i < len(w.b) && !endsLiteral(w.b[w.i]) {
			w.i++
		}
	}
	return w.b[start:w.i]
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (w *walker) skipString() {
	for w.i++; ; w.i++ {
		switch w.b[w.i] {
		case '\\':
			w.i++
		case '"':
			w.i++
			return
		}
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	numberType      = reflect.TypeFor[json.Number]()
)

// isLeaf reports whether the walker checks a value of type t whole instead
// of walking into it: types that decode themselves, scalars, byte slices and
// maps whose keys are not plain strings.
func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Array:
		return false
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8
	case reflect.Map:
		return t.Key().Kind() != reflect.String || reflect.PointerTo(t.Key()).Implements(textUnmarshaler)
	}
	return true
}

// leafProblem checks that raw (not null) decodes into a t and describes
// what is wrong when it does not. Common kinds are checked directly; the
// rest go through encoding/json.
func leafProblem(t reflect.Type, raw []byte, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c := raw[0]
	switch {
	case t == rawMessageType || t.Kind() == reflect.Interface && t.NumMethod() == 0:
		return nil // any JSON value
	case reflect.PointerTo(t).Implements(jsonUnmarshaler):
		err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		return unmarshalerProblem(t, raw, path, err)
	case reflect.PointerTo(t).Implements(textUnmarshaler), t == numberType:
		// encoding/json has rules of its own for these.
	case t.Kind() == reflect.String:
		if c != '"' {
			return mismatch(path, "a string", raw)
		}
		return nil
	case t.Kind() == reflect.Bool:
		if c != 't' && c != 'f' {
			return mismatch(path, "true or false", raw)
		}
		return nil
	case isInt(t) || t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		if c != '-' && (c < '0' || c > '9') {
			return mismatch(path, describeType(t), raw)
		}
		return numberProblem(t, raw, path)
	}
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	return unmarshalerProblem(t, raw, path, err)
}

// numberProblem checks a JSON number literal against a numeric kind with
// the parsers encoding/json uses.
func numberProblem(t reflect.Type, raw []byte, path string) error {
	s := string(raw)
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(s, 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err = strconv.ParseUint(s, 10, t.Bits())
	default:
		_, err = strconv.ParseFloat(s, t.Bits())
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, strconv.ErrRange):
		return Invalid(path, "%s is out of range", clip(s))
	}
	return mismatch(path, describeType(t), raw)
}

// unmarshalerProblem describes an error from decoding raw into a t.
func unmarshalerProblem(t reflect.Type, raw []byte, path string, err error) error {
	var ce *Error
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		// A nested decoder already named a path relative to this value.
		return &Error{Code: CodeInvalid, Field: JoinPath(path, ce.Field), Message: ce.Message}
	case t == timeType:
		return Invalid(path, "must be an RFC 3339 time such as \"2026-11-27T02:00:00Z\", got %s", describeRaw(raw))
	case errors.As(err, &te):
		return mismatch(path, describeType(te.Type), raw)
	}
	return Invalid(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// quotedProblem checks a field with the ",string" option: a scalar written
// inside a JSON string.
func quotedProblem(t reflect.Type, raw []byte, path string) error {
	if raw[0] == 'n' {
		return nil
	}
	var inner string
	if raw[0] == '"' && json.Unmarshal(raw, &inner) == nil && inner != "" &&
		json.Valid([]byte(inner)) && leafProblem(t, []byte(inner), path) == nil {
		return nil
	}
	return mismatch(path, "a string holding "+describeType(t), raw)
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "a JSON " + t.String()
}

// describeRaw names the JSON kind of raw, quoting short scalars.
func describeRaw(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "the string " + clip(string(raw))
	}
	return "the number " + clip(string(raw))
}

func clip(s string) string {
	limit := 64
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit] + "..."
}

func mismatch(path, want string, raw []byte) error {
	return Invalid(path, "must be %s, got %s", want, describeRaw(raw))
}

func syntaxProblem(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return Invalid("", "malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("", "malformed JSON: unexpected end of input")
	}
	return Invalid("", "malformed JSON: %s", err.Error())
}

// jsonError turns an error of encoding/json into an invalid_request error,
// naming the field as well as encoding/json knows it.
func jsonError(err error) error {
	var ce *Error
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &te):
		return Invalid(te.Field, "must be %s, got JSON %s", describeType(te.Type), te.Value)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return syntaxProblem(err)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return Invalid(strings.Trim(f, `"`), "is not a known field")
	}
	return Invalid("", "%s", strings.TrimPrefix(msg, "json: "))
}

// structFields are the JSON keys of a struct type, resolved the way
// encoding/json resolves them (embedded structs promote their fields; the
// shallowest wins; a tie without a single tagged field hides the name).
type structFields struct {
	byName map[string]field
	names  []string
}

type field struct {
	typ reflect.Type
	// index is the field's position in names.
	index int
	// quoted marks the ",string" option on a scalar field.
	quoted bool
}

// fold finds a field whose name matches key apart from case, as
// encoding/json would match it.
func (f *structFields) fold(key string) (string, bool) {
	for _, n := range f.names {
		if strings.EqualFold(n, key) {
			return n, true
		}
	}
	return "", false
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := resolveFields(t)
	fieldCache.Store(t, f)
	return f
}

func resolveFields(t reflect.Type) *structFields {
	type candidate struct {
		field
		depth  int
		tagged bool
	}
	type level struct {
		typ   reflect.Type
		depth int
	}
	found := map[string][]candidate{}
	var order []string
	queue := []level{{t, 0}}
	visited := map[reflect.Type]bool{}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		if visited[l.typ] {
			continue
		}
		visited[l.typ] = true
		for i := range l.typ.NumField() {
			sf := l.typ.Field(i)
			ft := sf.Type
			if sf.Anonymous {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				queue = append(queue, level{ft, l.depth + 1})
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			f := field{typ: sf.Type, quoted: optionSet(opts, "string") && quotable(sf.Type)}
			if _, ok := found[name]; !ok {
				order = append(order, name)
			}
			found[name] = append(found[name], candidate{f, l.depth, tagged})
		}
	}
	fs := &structFields{byName: map[string]field{}}
	for _, name := range order {
		cands := found[name]
		shallowest := cands[0].depth
		for _, c := range cands {
			shallowest = min(shallowest, c.depth)
		}
		var top []candidate
		for _, c := range cands {
			if c.depth == shallowest {
				top = append(top, c)
			}
		}
		if len(top) > 1 {
			var tagged []candidate
			for _, c := range top {
				if c.tagged {
					tagged = append(tagged, c)
				}
			}
			if len(tagged) != 1 {
				continue // ambiguous: encoding/json ignores the name
			}
			top = tagged
		}
		f := top[0].field
		f.index = len(fs.names)
		fs.byName[name] = f
		fs.names = append(fs.names, name)
	}
	return fs
}

// quotable reports whether encoding/json applies ",string" to t.
func quotable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64:
		return true
	}
	return isInt(t)
}

func optionSet(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// KeyPath appends an object key to a JSON path: "checks.healthz" for a
// plain key, `params["a b"]` for one that would be ambiguous after a dot.
func KeyPath(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// IndexPath appends a list index to a JSON path: "phases[1]".
func IndexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// JoinPath appends a relative path ("batch", "[2]", "http.url") to path.
func JoinPath(path, rel string) string {
	switch {
	case rel == "":
		return path
	case path == "":
		return rel
	case rel[0] == '[':
		return path + rel
	}
	return path + "." + rel
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
