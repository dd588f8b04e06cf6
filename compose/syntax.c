/* syntax.c — placeholder: replaced by the short-syntax parsers. */
#include "compose-internal.h"

bool
duration_parse (const char *s, int64_t *ns)
{
  (void) s, (void) ns;
  return false;
}

const char *
duration_format (arena_t *a, int64_t ns)
{
  return arena_printf (a, "%lldns", (long long) ns);
}

bool
bytes_parse (const char *s, int64_t *bytes)
{
  (void) s, (void) bytes;
  return false;
}

bool
port_parse_short (ld_t *ld, const node_t *n, const char *path, node_t *out)
{
  (void) ld, (void) n, (void) path, (void) out;
  return false;
}

node_t *
volume_parse_short (ld_t *ld, const node_t *n, const char *path)
{
  (void) ld, (void) n, (void) path;
  return NULL;
}

node_t *
shell_split (ld_t *ld, const node_t *n, const char *path)
{
  (void) ld, (void) n, (void) path;
  return NULL;
}
