"""The schema as it is in a database's catalog: read, documented, dumped, compared.

- `catalog`: `read(url)` reads a database's catalog into a `model.Catalog` (no OIDs,
  everything named and sorted), leaving out the runner's own tables;
- `markdown`, `diagram`, `dump`: the README with its Mermaid diagram, the Graphviz
  diagram (SVG), the normalised `schema.sql`;
- `docs`: the files of docs/schema, written or checked against what the migrations produce;
- `diff`: a live database against the migrations up to its recorded version (drift);
- `scratch`: throwaway databases migrated by the runner, for the two above.

Above the runner (`socialdb.migrate`) and the migration files, which it uses; it never imports
`socialdb.cli` or `socialdb.app`.
"""
