// Package mimetype is keyless's built-in table of content types by file
// extension, so a deploy sets the same Content-Type whatever machine runs it.
//
// The table is what aws s3 sync sets: the AWS CLI asks Python's mimetypes
// module, whose answer depends on the Python version and on the machine's
// mime.types file. The values here are those of Python 3.11 reading Debian's
// media-types (/etc/mime.types), the setup of keyless's test machine, and the
// tests compare the two. Where that answer is missing or wrong for a web
// server, the table has the standard type instead, and the entry says so;
// Python's own built-in table (without a mime.types file) lacks several of
// the types below (.webp, .woff, .woff2, .ttf, .otf, .md, .ogg, …) and gives
// application/javascript for .js and .mjs, which RFC 9239 replaced with
// text/javascript.
package mimetype

import "strings"

// types maps a lower-case extension, without its dot, to a content type.
var types = map[string]string{
	// Documents and text.
	"html":     "text/html",
	"htm":      "text/html",
	"xhtml":    "application/xhtml+xml",
	"css":      "text/css",
	"js":       "text/javascript",
	"mjs":      "text/javascript",
	"cjs":      "text/javascript", // not Python's: it has none; CommonJS modules are JavaScript (RFC 9239)
	"json":     "application/json",
	"jsonld":   "application/ld+json",
	"map":      "application/json", // not Python's: it has none; source maps are JSON
	"xml":      "application/xml",
	"xsl":      "application/xslt+xml",
	"xslt":     "application/xslt+xml",
	"txt":      "text/plain",
	"text":     "text/plain",
	"md":       "text/markdown",
	"markdown": "text/markdown",
	"csv":      "text/csv",
	"tsv":      "text/tab-separated-values",
	"ics":      "text/calendar",
	"vcf":      "text/vcard",
	"vtt":      "text/vtt",
	"rss":      "application/x-rss+xml",
	"atom":     "application/atom+xml",
	"rdf":      "application/rdf+xml",
	"yaml":     "application/yaml", // not Python's: it has none; RFC 9512
	"yml":      "application/yaml", // not Python's: it has none; RFC 9512
	"pdf":      "application/pdf",
	"epub":     "application/epub+zip",
	"rtf":      "application/rtf",
	"doc":      "application/msword",
	"docx":     "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls":      "application/vnd.ms-excel",
	"xlsx":     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ppt":      "application/vnd.ms-powerpoint",
	"pptx":     "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt":      "application/vnd.oasis.opendocument.text",
	"ods":      "application/vnd.oasis.opendocument.spreadsheet",
	"odp":      "application/vnd.oasis.opendocument.presentation",

	// Web application files.
	"webmanifest": "application/manifest+json",
	"manifest":    "text/cache-manifest",
	"appcache":    "text/cache-manifest",
	"wasm":        "application/wasm",

	// Images. An .svgz file is gzip-compressed SVG: serving it needs
	// Content-Encoding: gzip as well, which neither aws s3 sync nor this
	// table sets.
	"svg":  "image/svg+xml",
	"svgz": "image/svg+xml",
	"png":  "image/png",
	"apng": "image/apng",
	"jpg":  "image/jpeg",
	"jpeg": "image/jpeg",
	"jpe":  "image/jpeg",
	"jfif": "image/jpeg",
	"gif":  "image/gif",
	"webp": "image/webp",
	"avif": "image/avif",
	"jxl":  "image/jxl",
	"heic": "image/heic",
	"heif": "image/heif",
	"ico":  "image/vnd.microsoft.icon",
	"bmp":  "image/bmp",
	"tif":  "image/tiff",
	"tiff": "image/tiff",

	// Fonts.
	"woff":  "font/woff",
	"woff2": "font/woff2",
	"ttf":   "font/ttf",
	"otf":   "font/otf",
	"eot":   "application/vnd.ms-fontobject",

	// Audio and video.
	"mp4":  "video/mp4",
	"m4v":  "video/mp4",
	"m4a":  "audio/mp4",
	"mov":  "video/quicktime",
	"webm": "video/webm",
	"weba": "audio/webm", // not Python's: it has none
	"mkv":  "video/x-matroska",
	"avi":  "video/x-msvideo",
	"mpeg": "video/mpeg",
	"mpg":  "video/mpeg",
	"ogv":  "video/ogg",
	"ts":   "video/mp2t", // not Python's: it says text/vnd.trolltech.linguist (Qt translations); on the web .ts files are MPEG transport stream segments (HLS)
	"m3u8": "application/vnd.apple.mpegurl",
	"mpd":  "application/dash+xml",
	"mp3":  "audio/mpeg",
	"ogg":  "audio/ogg",
	"oga":  "audio/ogg",
	"opus": "audio/ogg",
	"wav":  "audio/x-wav",
	"flac": "audio/flac",
	"aac":  "audio/aac",

	// 3D models.
	"glb":  "model/gltf-binary",
	"gltf": "model/gltf+json",
	"usdz": "model/vnd.usdz+zip",

	// Archives and downloads. Python reads .gz, .bz2 and .xz as content
	// encodings of the extension before them ("app.js.gz" is JavaScript,
	// "site.tgz" a tar file) and the AWS CLI then sets that type without the
	// encoding, so browsers see compressed bytes they cannot read. Here the
	// last extension decides.
	"zip": "application/zip",
	"gz":  "application/gzip",    // not Python's: see above
	"tgz": "application/gzip",    // not Python's: it says application/x-tar; see above
	"bz2": "application/x-bzip2", // not Python's: see above
	"xz":  "application/x-xz",    // not Python's: see above
	"zst": "application/zstd",
	"tar": "application/x-tar",
	"7z":  "application/x-7z-compressed",
	"rar": "application/vnd.rar",
	"jar": "application/java-archive",
	"apk": "application/vnd.android.package-archive",
	"dmg": "application/x-apple-diskimage",
	"exe": "application/x-msdos-program",
	"msi": "application/x-msi",
	"deb": "application/vnd.debian.binary-package",
	"rpm": "application/x-redhat-package-manager",
	"iso": "application/x-iso9660-image",
	"bin": "application/octet-stream",
}

// ByName returns the content type for a file name by its extension, and
// false when the table has none (the object is then uploaded without one and
// S3 serves it as binary/octet-stream). The extension is what follows the
// last '.' of the base name (as in Python's os.path.splitext: a name such as
// ".htaccess" that is only dots and an extension has none), compared without
// regard to case.
func ByName(name string) (string, bool) {
	ext := extension(name)
	if ext == "" {
		return "", false
	}
	t, ok := types[strings.ToLower(ext)]
	return t, ok
}

// extension returns name's extension without its dot, or "".
func extension(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || strings.Trim(base[:dot], ".") == "" {
		return ""
	}
	return base[dot+1:]
}
