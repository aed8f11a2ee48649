package m3tooleval

import (
	"strconv"
	"strings"
	"sync"
)

var pagesOnce = sync.OnceValues(loadPages)

// linesPerView is the number of lines the browser shows at once.
const linesPerView = 5

// Browser is the web family's browser, as the reference's WebBrowser
// behaves: it opens at "/", shows pages five lines at a time, scrolls, and
// keeps a history of the pages it left.
type Browser struct {
	pages   map[string]webPage
	current *webPage
	history []*webPage
	lines   []string
	scroll  int
}

// NewBrowser returns a browser at "/" with an empty history.
func NewBrowser() *Browser {
	pages, err := pagesOnce()
	if err != nil {
		panic(err) // the embedded pages are checked by tests
	}
	b := &Browser{pages: map[string]webPage{}}
	for _, p := range pages {
		b.pages[p.Name] = p
	}
	b.openPage("/")
	b.history = nil
	return b
}

func (b *Browser) openPage(name string) string {
	p, ok := b.pages[name]
	if !ok {
		return "[Page not found.]"
	}
	b.history = append(b.history, b.current)
	b.current = &p
	b.lines = strings.Split(p.Content, "\n")
	b.scroll = 0
	return "[Opened page: " + name + "]\n" + b.View()
}

// ClickURL opens the page url names (single quotes removed), if it exists.
func (b *Browser) ClickURL(url string) string {
	url = strings.ReplaceAll(url, "'", "")
	if _, ok := b.pages[url]; b.current != nil && ok {
		return b.openPage(url)
	}
	return "[URL not found.]"
}

// GoToPreviousPage goes back to the page last left.
func (b *Browser) GoToPreviousPage() string {
	if len(b.history) == 0 {
		return "[No previous page.]"
	}
	b.current = b.history[len(b.history)-1]
	b.history = b.history[:len(b.history)-1]
	b.lines = strings.Split(b.current.Content, "\n")
	b.scroll = 0
	return "[Opened page: " + b.current.Name + "]\n" + b.View()
}

// ScrollDown shows the next five lines, if there are more.
func (b *Browser) ScrollDown() string {
	if b.scroll+linesPerView < len(b.lines) {
		b.scroll += linesPerView
		return b.View()
	}
	return "[Reached the bottom of the page.]\n"
}

// ScrollUp shows the previous five lines, if any.
func (b *Browser) ScrollUp() string {
	if b.scroll > 0 {
		b.scroll -= linesPerView
		return b.View()
	}
	return "[Reached the top of the page.]\n"
}

// View renders the current view (the reference's page count is
// lines//5+1 when a page has more than five lines).
func (b *Browser) View() string {
	start := b.scroll
	end := min(start+linesPerView, len(b.lines))
	total := len(b.lines)
	var sb strings.Builder
	sb.WriteString("----------\n")
	if b.current.Name != "" {
		sb.WriteString("[Web Page Name: " + b.current.Name + "]\n")
	}
	pageID, pages := 1, 1
	if total > linesPerView {
		pageID = start/linesPerView + 1
		pages = total/linesPerView + 1
	}
	sb.WriteString("[Viewing page " + strconv.Itoa(pageID) + " of " + strconv.Itoa(pages) + "]\n\n")
	if start < end {
		sb.WriteString(strings.Join(b.lines[start:end], "\n"))
	}
	sb.WriteString("\n----------")
	return sb.String()
}
