package signals

import "testing"

func TestLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"5": `5`, "-1.5": `-1.5`, "true": `true`, "null": `null`,
		"007": `"007"`, " 5": `" 5"`, "first_project": `"first_project"`, "": `""`, `say "hi"`: `"say \"hi\""`,
	} {
		if got := string(Literal(in)); got != want {
			t.Errorf("Literal(%q) = %s, want %s", in, got, want)
		}
	}
}
