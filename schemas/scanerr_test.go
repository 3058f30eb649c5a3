package schemas

import (
	"errors"
	"testing"
)

func TestScanErrorsSayWhereAndCountInEnglish(t *testing.T) {
	base := errors.New("string length 10 exceeds the 1 byte remaining")
	err := at("lines", at("[2]", at("sku", base)))
	if got, want := err.Error(), "lines[2].sku: string length 10 exceeds the 1 byte remaining"; got != want {
		t.Errorf("path error %q, want %q", got, want)
	}
	if !errors.Is(err, base) {
		t.Error("the path error does not wrap the scan error")
	}
	for _, c := range []struct{ got, want string }{
		{plural(1, "item"), "1 item"}, {plural(0, "item"), "0 items"}, {plural(3, "byte"), "3 bytes"},
		{remain(1), "1 byte remains"}, {remain(0), "0 bytes remain"}, {remain(2), "2 bytes remain"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}
