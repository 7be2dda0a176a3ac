// Subcommands of the `lookahead` CLI. Each takes the full argv and the index
// of its first own argument, prints its output, and returns the exit code;
// bad input throws lookahead::Error (main prints it and exits 1).
#pragma once

// llama-tokenize compatible; argv[0] is the subcommand name.
int cmd_tokenize(int argc, char** argv);

namespace lookahead::cli {

int cmd_run(int argc, char** argv, int first);
int cmd_info(int argc, char** argv, int first);
int cmd_bench(int argc, char** argv, int first);
// These two take only their own arguments (argv[0] is the first option).
int cmd_bench_forward(int argc, char** argv);
int cmd_synth(int argc, char** argv);
inline int cmd_synth(int argc, char** argv, int first) { return cmd_synth(argc - first, argv + first); }
// OpenAI-compatible HTTP server (tools/server/); fails in builds without it.
int cmd_serve(int argc, char** argv, int first);
inline int cmd_tokenize(int argc, char** argv, int first) { return ::cmd_tokenize(argc - (first - 1), argv + (first - 1)); }

}  // namespace lookahead::cli
