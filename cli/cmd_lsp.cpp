// `maskfill lsp`: the language server on stdio (default) or one loopback TCP connection.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/command.h"
#include "lsp-server/transport.h"

namespace maskfill {
namespace {

struct LspFlags {
  std::string listen;
  bool allow_remote = false;
  std::string log_file;
  std::string log_level = "info";
  std::string model;
  std::string device = "auto";
  std::string dtype = "auto";
  std::string backend, backend_key_file, backend_prompt = "auto";
  int backend_timeout_ms = 30000;
  bool test_methods = false;
};

// Logs go to stderr or a file, never stdout: stdout carries the protocol in stdio mode.
void setup_logging(const LspFlags& flags) {
  std::shared_ptr<spdlog::logger> logger;
  if (flags.log_file.empty())
    logger = spdlog::stderr_logger_mt("maskfill");
  else
    logger = spdlog::basic_logger_mt("maskfill", flags.log_file);
  logger->set_level(spdlog::level::from_str(flags.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

lsp::ServerOptions server_options(const LspFlags& flags) {
  lsp::ServerOptions options;
  options.version = MASKFILL_VERSION;
  // The flags are validated like settings so both paths give the same messages.
  nlohmann::json settings = {{"modelPath", flags.model}, {"device", flags.device}, {"dtype", flags.dtype},
                             {"backend.url", flags.backend}, {"backend.apiKeyFile", flags.backend_key_file},
                             {"backend.timeoutMs", flags.backend_timeout_ms}, {"backend.prompt", flags.backend_prompt}};
  lsp::ConfigUpdate update = lsp::apply_settings(options.config, settings);
  if (!update.errors.empty()) throw CLI::ValidationError("maskfill lsp", update.errors.front());
  options.config = update.config;
  options.test_methods = flags.test_methods;
  return options;
}

int run_lsp(int argc, char** argv) {
  CLI::App app{"Run the maskfill language server (stdio by default)", "maskfill lsp"};
  LspFlags flags;
  auto* listen_option = app.add_option("--listen", flags.listen, "serve one client over TCP at HOST:PORT (loopback only)");
  // Generic client configurations pass --stdio (as they do for pyright or the Copilot language
  // server); stdio is the default, so the flag only has to be accepted.
  bool stdio = false;
  app.add_flag("--stdio", stdio, "talk LSP over stdin/stdout (the default)")->excludes(listen_option);
  app.add_flag("--allow-remote", flags.allow_remote, "allow --listen on a non-loopback address (no authentication!)");
  app.add_option("--log-file", flags.log_file, "log to this file instead of stderr");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--model", flags.model, "model directory (default: the bundled model)");
  app.add_option("--device", flags.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--dtype", flags.dtype, "auto, float32, bfloat16 or float16");
  app.add_option("--backend", flags.backend,
                 "URL of a shared model server, e.g. http://gpu-box:8080: maskfill serve, or any OpenAI-compatible "
                 "server (vLLM, SGLang, LMDeploy) running the same model, with --model naming a copy of its snapshot; "
                 "the API key comes from --backend-key-file or MASKFILL_API_KEY");
  app.add_option("--backend-key-file", flags.backend_key_file, "file holding the backend's API key (first line)");
  app.add_option("--backend-prompt", flags.backend_prompt,
                 "how prompts reach the backend: auto (token ids to maskfill serve, else text with suffix, else the "
                 "SPM prompt as text), tokens, suffix or spm");
  app.add_option("--backend-timeout-ms", flags.backend_timeout_ms, "time limit of one backend request")
      ->check(CLI::Range(100, 600000));
  app.add_flag("--enable-test-methods", flags.test_methods,
               "also serve maskfill/debugDocument and maskfill/debugWait (for the test suites)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  lsp::ServerOptions options;
  try {
    options = server_options(flags);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  setup_logging(flags);
  signal(SIGPIPE, SIG_IGN);  // a closed pipe or socket becomes a write error, not a kill

  std::unique_ptr<lsp::Transport> transport;
  if (flags.listen.empty()) {
    transport = lsp::make_stdio_transport();
  } else {
    lsp::ListenOptions listen = lsp::parse_listen_address(flags.listen);
    listen.allow_remote = flags.allow_remote;
    transport = lsp::accept_tcp_client(listen, [](const std::string& where) {
      spdlog::info("listening on {}", where);
      std::fprintf(stderr, "maskfill lsp: listening on %s\n", where.c_str());
    });
  }
  int code = lsp::serve(*transport, std::move(options));
  spdlog::shutdown();
  return code;
}

const RegisterCommand lsp_command{"lsp", "run the language server (stdio, or --listen 127.0.0.1:PORT)", run_lsp};

}  // namespace
}  // namespace maskfill
