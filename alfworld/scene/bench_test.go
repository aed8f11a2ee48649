package scene

import "testing"

func BenchmarkGenerate(b *testing.B) {
	g := Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := g.Generate(int64(i), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateAndRender(b *testing.B) {
	g := Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := g.Generate(int64(i), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := g.ProblemText(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGameFileJSON(b *testing.B) {
	g := Default()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := g.Generate(int64(i), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := g.MarshalGameFile(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadProblem(b *testing.B) {
	g := Default()
	s, _ := g.Generate(1, Options{Kind: Put, Room: Kitchen})
	text, _ := g.ProblemText(s)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadProblem(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefaultTables(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		DefaultTables()
	}
}
