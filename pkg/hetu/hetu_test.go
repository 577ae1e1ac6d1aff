package hetu

import (
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		birth string
		sex   Sex
		test  bool
	}{
		{"classic 1900s", "131052-308T", "1952-10-13", Female, false},
		{"DVV example", "010101-123N", "1901-01-01", Male, false},
		{"1800s plus sign", "010185+944U", "1885-01-01", Female, true},
		{"2000s A", "010101A985F", "2001-01-01", Male, true},
		{"lower case and spaces", "  010101a985f ", "2001-01-01", Male, true},
		{"leap day 2000", "290200A931B", "2000-02-29", Male, true},
		{"individual 002", "010203A0023", "2003-02-01", Female, false},
	}
	for _, sign := range "-YXWVU" {
		code := "150580" + string(sign) + "951" + string(CheckChar("150580", 951))
		tests = append(tests, struct {
			name  string
			in    string
			birth string
			sex   Sex
			test  bool
		}{"century sign " + string(sign), code, "1980-05-15", Male, true})
	}
	for _, sign := range "ABCDEF" {
		code := "150510" + string(sign) + "952" + string(CheckChar("150510", 952))
		tests = append(tests, struct {
			name  string
			in    string
			birth string
			sex   Sex
			test  bool
		}{"century sign " + string(sign), code, "2010-05-15", Female, true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := id.BirthDate().Format(time.DateOnly); got != tt.birth {
				t.Errorf("birth date %s, want %s", got, tt.birth)
			}
			if id.Sex() != tt.sex {
				t.Errorf("sex %v, want %v", id.Sex(), tt.sex)
			}
			if id.IsTest() != tt.test {
				t.Errorf("IsTest %v, want %v", id.IsTest(), tt.test)
			}
			if id.String() != strings.ToUpper(strings.TrimSpace(tt.in)) {
				t.Errorf("String %q", id.String())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"wrong check character", "131052-308X", "check character should be T, not X"},
		{"too short", "131052-308", "11 characters"},
		{"too long", "131052-308TT", "not 12"},
		{"empty", "", "not 0"},
		{"31 February", "310280-9" + "51" + string(CheckChar("310280", 951)), "day 31 does not exist in February 1980"},
		{"29 February not leap", "290201A951" + string(CheckChar("290201", 951)), "day 29 does not exist in February 2001"},
		{"29 February 1900 not leap", "290200-951" + string(CheckChar("290200", 951)), "day 29 does not exist in February 1900"},
		{"month 13", "011380-951" + string(CheckChar("011380", 951)), "month 13 does not exist"},
		{"day 00", "000180-951" + string(CheckChar("000180", 951)), "day 00 does not exist"},
		{"individual 000", "010180-000" + string(CheckChar("010180", 0)), "individual number 000 is never issued"},
		{"individual 001", "010180-001" + string(CheckChar("010180", 1)), "individual number 001 is never issued"},
		{"bad century sign", "131052Z308T", "century sign 'Z'"},
		{"letters in date", "13105A-308T", "date part"},
		{"letters in individual", "131052-3O8T", "individual number (characters 8-10)"},
		{"non-ascii", "131052-308Ä", "characters that are not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) accepted an invalid code", tt.in)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	id, err := Parse("131052-308T")
	if err != nil {
		t.Fatal(err)
	}
	if got := id.Masked(); got != "131052-***T" {
		t.Fatalf("Masked = %q", got)
	}
	if got := Mask("131052-308X"); got != "131052-***X" {
		t.Fatalf("Mask = %q", got)
	}
	if got := Mask("1310"); strings.Contains(got, "1") {
		t.Fatalf("Mask of a short string leaks digits: %q", got)
	}
}

func TestMaskText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"one code", "patient 140348-901W refused", "patient 140348-***W refused"},
		{"new century signs", "210731Y903A and 050139X9048", "210731Y***A and 050139X***8"},
		{"lower case", "code 010101a985f typed", "code 010101a***f typed"},
		{"after punctuation", "id:131052-308T.", "id:131052-***T."},
		{"run into letters", "hetu131052-308Tx", "hetu131052-***Tx"},
		{"at the start, run on after", "131052-308Tx", "131052-***Tx"},
		{"two in a row", "131052-308T,010101A985F", "131052-***T,010101A***F"},
		{"a UUID stays", "01925177-7123-4abc-8def-0123456789ab", "01925177-7123-4abc-8def-0123456789ab"},
		{"plus sign", "010185+944U", "010185+***U"},
		{"prescription id stays", "EP26000101 stays", "EP26000101 stays"},
		{"time stays", "at 1:10:07, 19 requests", "at 1:10:07, 19 requests"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskText(tt.in); got != tt.want {
				t.Errorf("MaskText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"131052-308T", "010101A985F", "", "290200A931B", "ÄÄÄÄÄÄÄÄÄÄÄ", "31028O-9513"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if id != (ID{}) {
				t.Fatalf("error with non-zero ID")
			}
			return
		}
		again, err := Parse(id.String())
		if err != nil || again != id {
			t.Fatalf("canonical form %q does not parse back: %v", id.String(), err)
		}
		if len(id.Masked()) != 11 {
			t.Fatalf("Masked %q", id.Masked())
		}
	})
}
