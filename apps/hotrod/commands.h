// The sub-commands of the `hotrod` binary: each lives in its own cmd_<name>.cpp and takes argv after its name.
#pragma once

namespace hotrod::app {

int cmd_inspect(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_chat(int argc, char** argv);
int cmd_synth(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_template(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_perf(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
int cmd_version(int argc, char** argv);
int cmd_pull(int argc, char** argv);

}  // namespace hotrod::app
