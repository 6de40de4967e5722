package termauth

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestVectors replays every tests/vectors/*.json through the C ABI, as the format's README
// describes (the JSON comparison is the library's termauth_json_equal).
func TestVectors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "tests", "vectors", "*.json"))
	sort.Strings(files)
	if len(files) < 40 {
		t.Fatalf("expected at least 40 vectors, found %d", len(files))
	}
	passed := 0
	for _, file := range files {
		ok := t.Run(filepath.Base(file), func(t *testing.T) { replay(t, file) })
		if ok {
			passed++
		}
	}
	t.Logf("%d of %d vectors replayed through the C ABI from Go", passed, len(files))
}

type vectorStep struct {
	Poll        *int64          `json:"poll"`
	Expect      json.RawMessage `json:"expect"`
	Handle      json.RawMessage `json:"handle"`
	Now         int64           `json:"now"`
	ExpectError json.RawMessage `json:"expect_error"`
}

func errorID(err error) []byte {
	te, ok := err.(*Error)
	if !ok {
		return []byte(`{"kind":"?","code":"?"}`)
	}
	b, _ := json.Marshal(map[string]string{"kind": te.Kind, "code": te.Code})
	return b
}

func replay(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Seed             string          `json:"seed"`
		Spec             json.RawMessage `json:"spec"`
		ExpectStartError json.RawMessage `json:"expect_start_error"`
		Steps            []vectorStep    `json:"steps"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(v.Seed)
	if err != nil || len(seed) != 32 {
		t.Fatalf("bad seed %q", v.Seed)
	}
	f, err := newFlow(v.Spec, seed)
	if err != nil {
		if v.ExpectStartError == nil {
			t.Fatalf("start: unexpected error %v", err)
		}
		if eq, _ := jsonEqual(errorID(err), v.ExpectStartError); !eq {
			t.Fatalf("start: expected %s, got %s", v.ExpectStartError, errorID(err))
		}
		return
	}
	defer f.free()
	if v.ExpectStartError != nil {
		t.Fatalf("flow started, expected %s", v.ExpectStartError)
	}
	for i, s := range v.Steps {
		switch {
		case s.Poll != nil:
			got, err := f.poll(*s.Poll)
			if err != nil {
				t.Errorf("step %d poll: %v", i, err)
				continue
			}
			if eq, _ := jsonEqual([]byte(got), s.Expect); !eq {
				t.Errorf("step %d poll:\n  expected %s\n  got      %s", i, s.Expect, got)
			}
		case s.Handle != nil:
			err := f.handleJSON(s.Handle, s.Now)
			switch {
			case err == nil && s.ExpectError != nil:
				t.Errorf("step %d: input accepted, expected %s", i, s.ExpectError)
			case err != nil && s.ExpectError == nil:
				t.Errorf("step %d: input refused: %v", i, err)
			case err != nil:
				if eq, _ := jsonEqual(errorID(err), s.ExpectError); !eq {
					t.Errorf("step %d: expected %s, got %s", i, s.ExpectError, errorID(err))
				}
			}
		default:
			t.Errorf("step %d: neither poll nor handle", i)
		}
	}
}

// Malformed input through the ABI from Go: an error, never a crash.
func TestMalformed(t *testing.T) {
	for _, spec := range []string{"", "{", "null", `{"flow":"nope"}`, "\xff\xfe", `{"flow":"device"}`} {
		if _, err := newFlow([]byte(spec), nil); err == nil {
			t.Errorf("spec %q: no error", spec)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("spec %q: error is %T", spec, err)
		}
	}
	f, err := newFlow([]byte(`{"flow":"api_key","key":"k"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.free()
	for _, in := range []string{"", "[", `{"type":"http_response","id":99,"status":200}`, "\xff"} {
		if err := f.handleJSON([]byte(in), 1); err == nil {
			t.Errorf("input %q accepted", in)
		}
	}
	if _, err := decide("garbage", 0, 0); err == nil {
		t.Error("decide accepted garbage")
	}
}
