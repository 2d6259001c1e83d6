package contracts

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

// The JSON Schemas (draft 2020-12) of every message, for publishers in other
// languages and for documentation. Each has the $id
// https://rollwave.io/schemas/<name>.json; they refer to each other by
// relative file name, with shared definitions in "defs". The Go decoders
// are the authority: they also check the rules a schema cannot express.
//
//go:embed schemas/*.json
var schemaFS embed.FS

// SchemaBaseURI is the common prefix of every schema's $id.
const SchemaBaseURI = "https://rollwave.io/schemas/"

// SchemaNames lists the embedded schemas by name, such as "deploy-request".
func SchemaNames() []string {
	entries, err := fs.ReadDir(schemaFS, "schemas")
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		panic("contracts: embedded schemas: " + err.Error())
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	slices.Sort(names)
	return names
}

// Schema returns the JSON Schema called name (with or without ".json").
func Schema(name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".json")
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, Invalid("name", "must be one of %s, got %q", strings.Join(SchemaNames(), ", "), clip(name))
	}
	b, err := schemaFS.ReadFile("schemas/" + name + ".json")
	if err != nil {
		return nil, &Error{Code: CodeNotFound, Field: "name",
			Message: "no schema " + clip(name) + "; known: " + strings.Join(SchemaNames(), ", ")}
	}
	return b, nil
}
