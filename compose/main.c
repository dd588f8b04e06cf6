/* main.c — the `stack` binary. */
#include <string.h>

#include "../runtime/runtime.h"
#include "compose.h"

int
main (int argc, char **argv)
{
  /* A container's `init: true` runs a sealed copy of this binary under this
     name (CVE-2019-5736): be the init, nothing else. */
  if (argc > 0 && strcmp (argv[0], "stack-init") == 0)
    return rt_init_main (argc, argv);
  return cli_main (argc, argv);
}
