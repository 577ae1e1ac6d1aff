package drill

import "testing"

func TestMaskCodes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"patient 140348-901W refused", "patient 140348-***W refused"},
		{"210731Y903A and 050139X9048", "210731Y***A and 050139X***8"},
		{"EP26000101 stays", "EP26000101 stays"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskCodes(tt.in); got != tt.want {
			t.Errorf("maskCodes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
