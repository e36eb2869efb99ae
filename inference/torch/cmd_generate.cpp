// `maskfill generate`: decode a prompt with block diffusion (or --ar greedy) and print the text
// to stdout and the statistics to stderr.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/command.h"
#include "common/read_file.h"
#include "inference/chat_template.h"
#include "inference/model_files.h"
#include "inference/tokenizer.h"
#include "inference/torch/decode_flags.h"
#include "inference/torch/torch_engine.h"

namespace maskfill {
namespace {


const char* stop_name(StopReason stop) {
  switch (stop) {
    case StopReason::Eos: return "eos";
    case StopReason::Length: return "length";
    case StopReason::Cancelled: return "cancelled";
    case StopReason::Budget: return "budget";
    case StopReason::StopString: return "stop_string";
    case StopReason::Unsure: return "unsure";
  }
  return "?";
}

int run_generate(int argc, char** argv) {
  CLI::App app{"Decode a prompt with the model: block diffusion by default, --ar for greedy AR"};
  ModelFlags model_flags;
  DecodeFlags decode_flags;
  std::string prompt, prompt_file;
  bool chat = false, ar = false;
  model_flags.add_to(app);
  decode_flags.add_to(app);
  auto* prompt_opt = app.add_option("--prompt", prompt, "prompt text");
  app.add_option("--prompt-file", prompt_file, "read the prompt from a file")->excludes(prompt_opt);
  app.add_flag("--chat", chat, "wrap the prompt as one user turn in the model's chat template");
  app.add_flag("--ar", ar, "autoregressive greedy decoding (causal attention) instead of block diffusion");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!prompt_file.empty()) prompt = read_file(prompt_file);
  if (prompt.empty()) throw std::runtime_error("give --prompt or --prompt-file");

  std::string dir = model_flags.model_dir();
  if (chat) prompt = render_chat(locate_model_files(dir).tokenizer_config, {{"user", prompt}}, true);
  auto engine = make_torch_engine(dir, model_flags.device);
  std::vector<int32_t> ids = engine->tokenizer().encode(prompt);
  DecodeOptions options = decode_flags.resolve();
  DecodeResult result = ar ? engine->generate_autoregressive(ids, options.gen_length + options.extend_max, {})
                           : engine->generate(ids, options, {});
  std::fwrite(result.text.data(), 1, result.text.size(), stdout);
  std::fputc('\n', stdout);
  const DecodeStats& s = result.stats;
  std::fprintf(stderr,
               "[%s] %s: prompt %d tokens, generated %d tokens, stop=%s, forwards %d, %.2f tokens/forward, "
               "prefill %.1f ms, decode %.1f ms (%.1f tokens/s)\n",
               engine->description().c_str(), ar ? "autoregressive" : "block diffusion", s.prompt_tokens,
               s.generated_tokens, stop_name(result.stop), s.forwards, s.tokens_per_forward(), s.prefill_ms,
               s.decode_ms, s.decode_ms > 0 ? 1000.0 * s.generated_tokens / s.decode_ms : 0.0);
  return 0;
}

const RegisterCommand generate_command{"generate", "decode a prompt with the model", run_generate};

}  // namespace
}  // namespace maskfill
