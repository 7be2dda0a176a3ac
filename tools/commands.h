// Subcommands of the `lookahead` CLI. Each takes the full argv and the index
// of its first own argument, prints its output, and returns the exit code;
// bad input throws lookahead::Error (main prints it and exits 1).
#pragma once

namespace lookahead::cli {

int cmd_run(int argc, char** argv, int first);
int cmd_info(int argc, char** argv, int first);

}  // namespace lookahead::cli
