// Package browsertest runs Debian's Chromium headless for tests that drive
// real pages (chromedp). CI installs the browser; without it a test fails
// and says how to install it, rather than skipping what it checks.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Timeout bounds each test's whole use of the browser.
const Timeout = 60 * time.Second

// Start launches a fresh headless Chromium (its own profile, no network of
// its own: no QUIC, sync, component updates or background requests) and
// returns a chromedp context for one tab. The browser ends with the test.
func Start(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browsertest: %s not found: install Debian's chromium (apt-get install chromium), as CI does: %v", ChromiumPath, err)
	}
	profile := t.TempDir() // registered first, so removed after the browser ends
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1024, 768),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil { // starts the browser now, so a failure is the launch's
		t.Fatalf("browsertest: start %s: %v", ChromiumPath, err)
	}
	return bctx
}

// Screenshot saves the tab's full page as name.png in the test's artifact
// directory (kept with go test -artifacts) and logs the file's path.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: save screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
}
