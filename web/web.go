// Package web holds the analyst map's static assets (HTML, script, style
// and the vendored MapLibre GL build), embedded so the binary serves the map
// with no internet access: no CDN, no remote basemap, no remote fonts.
//
// static/vendor is refreshed from package-lock.json by scripts/web-vendor.sh
// and committed, so a clean clone builds with Go alone.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Static returns the assets rooted at the static folder: index.html, app.js,
// app.css and vendor/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time; it cannot be missing
	}
	return sub
}
