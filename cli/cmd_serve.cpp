// `maskfill serve`: the OpenAI-compatible HTTP inference server (serve/), with batching across
// requests. Loopback by default; any other address needs --api-key-file.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "common/command.h"
#include "inference/tokenizer.h"
#include "infill/plan.h"
#include "serve/http_server.h"
#include "serve/service.h"

namespace maskfill {
namespace {

const char* kQuickStart = R"(
A team shares one model box in two lines:
  maskfill serve --host 0.0.0.0 --api-key-file /etc/maskfill/api-key --model /models/Stable-DiffCoder-8B-Instruct --device cuda
  MASKFILL_API_KEY=... maskfill lsp --backend http://model-box:8080      (or the editors' maskfill.backend.url setting)
Endpoints: POST /v1/completions, POST /v1/chat/completions, GET /v1/models[/{id}], /health, /metrics,
and llama.cpp's POST /infill (llama.vim, llama.vscode).
See docs/deploy.md for TLS, several boxes and the systemd unit.)";

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key_file;
  std::string model, device = "auto", dtype = "auto", model_id;
  int threads = 0;
  int max_batch = 16, max_queue = 256, max_connections = 16384, max_connections_per_ip = 256, idle_timeout_ms = 30000, prompt_cache_mb = -1, max_n = 16;
  int header_timeout_ms = 10000;
  double drain_seconds = 10;
  size_t max_body = 0;  // 0: sized to the model's context (body_limit_for)
  std::string threshold = "default";
  bool log_prompts = false;
  bool no_maskfill_endpoints = false;
  std::string log_level = "info", log_file;
  std::vector<std::string> cors_origins;
};

void setup_logging(const ServeFlags& flags) {
  std::shared_ptr<spdlog::logger> logger =
      flags.log_file.empty() ? spdlog::stderr_logger_mt("maskfill") : spdlog::basic_logger_mt("maskfill", flags.log_file);
  logger->set_level(spdlog::level::from_str(flags.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string read_api_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the API key file " + path);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.size() < 16) throw std::runtime_error("the API key in " + path + " is shorter than 16 characters");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    spdlog::warn("the API key file {} is readable by every user (chmod 600 it)", path);
  return key;
}

// A body can carry at most a context of text that matters (every token stands for at most
// max_token_bytes() bytes); the factor leaves room for JSON escapes (\n, \uXXXX), a suffix and
// llama.cpp's input_extra, which the server cuts to fit. Without a limit tied to the context a
// client makes the server hold and parse megabytes that can only be refused afterwards.
constexpr size_t kBodyBytesPerContextByte = 4;
constexpr size_t kMinBodyLimit = size_t(1) << 20;

size_t body_limit_for(const Engine& engine) {
  size_t token_bytes = engine.tokenizer().max_token_bytes();
  if (token_bytes == 0) return size_t(16) << 20;  // no bound known: the old fixed limit, raised
  size_t context = size_t(std::max<int64_t>(engine.config().max_position_embeddings, 1));
  return std::clamp(context * token_bytes * kBodyBytesPerContextByte, kMinBodyLimit, size_t(1) << 30);
}

// Large buffers (request bodies, parsed prompts) from mmap and straight back to the system when
// freed: glibc otherwise raises its mmap threshold after the first freed large buffer and serves
// the next ones from arenas that keep the memory (measured: bench/results/serve-hostile-*.txt).
// Two arenas at most: every thread that allocates gets an arena of its own otherwise (8 per core),
// and malloc_trim never gives back the free top of a thread's arena, so after a burst of 32 x 4 MB
// bodies each worker's arena kept about 30 MB, all free (malloc_info): RSS stayed 170 MB over idle
// with the default, 38 MB with two arenas and 1 MB with one. Two is the usual setting for glibc
// servers (MALLOC_ARENA_MAX=2) and keeps the inference loop off the request threads' lock.
// MASKFILL_MALLOC_DEFAULTS=1 keeps glibc's defaults (to measure the difference).
void tune_malloc() {
#ifdef __GLIBC__
  if (const char* keep = std::getenv("MASKFILL_MALLOC_DEFAULTS"); keep && std::string(keep) == "1") return;
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  mallopt(M_ARENA_MAX, 2);
#endif
}

// Every connection is a descriptor: the soft open-file limit (often 1024) goes up to the hard
// one, which the server then caps --max-connections by (it says so when it must).
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? rlim_t(1) << 20 : limit.rlim_max;  // Linux refuses "infinity"
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0)
    spdlog::debug("serve: open-file limit raised from {} to {}", before, limit.rlim_cur);
  else
    spdlog::warn("serve: could not raise the open-file limit from {}: at most about that many connections", before);
}

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve the model over an OpenAI-compatible HTTP API, batching requests across users", "maskfill serve"};
  app.footer(kQuickStart);
  ServeFlags f;
  app.add_option("--host", f.host, "address to listen on (default 127.0.0.1; others need --api-key-file)");
  app.add_option("--port", f.port, "TCP port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  app.add_option("--api-key-file", f.api_key_file, "file whose first line is the API key clients send as 'Authorization: Bearer KEY'");
  app.add_option("--model", f.model, "model directory (default: the bundled model)");
  app.add_option("--model-id", f.model_id, "the model name the API lists and expects (default: the directory's name)");
  app.add_option("--device", f.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--dtype", f.dtype, "auto, float32, bfloat16 or float16");
  app.add_option("--threads", f.threads, "CPU threads for torch (0: all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--max-batch", f.max_batch, "sequences denoised together, one forward per step (1: one at a time)")->check(CLI::Range(1, 1024));
  app.add_option("--max-queue", f.max_queue, "sequences allowed to wait for a batch slot; more get 429")->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-connections", f.max_connections,
                 "open connections (idle ones cost a few KB, no thread); more get 503. Capped by the open-file limit, "
                 "which serve raises to its hard limit (ulimit -Hn)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-connections-per-ip", f.max_connections_per_ip, "open connections from one client address (loopback too); more get 503")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-body", f.max_body, "largest request body in bytes; larger get 413 (default: what the model's context can use, at least 1 MiB)")->check(CLI::Range(size_t(1024), size_t(1) << 30));
  app.add_option("--max-n", f.max_n, "largest n (choices per request)")->check(CLI::Range(1, 256));
  app.add_option("--idle-timeout-ms", f.idle_timeout_ms, "close a connection idle between requests, or sending a body, or not reading an answer, this long")
      ->check(CLI::Range(100, 3600000));
  app.add_option("--header-timeout-ms", f.header_timeout_ms, "close a connection whose request header (or a new connection's first byte) takes longer")
      ->check(CLI::Range(100, 3600000));
  app.add_option("--drain-seconds", f.drain_seconds,
                 "on SIGTERM/SIGINT, let requests in flight finish for at most this long (a second signal stops at once)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--threshold", f.threshold, "default parallel-commit threshold in (0,1], or 'none' for one token per step (requests may override)");
  app.add_option("--prompt-cache-mb", f.prompt_cache_mb, "prompt cache size (default: the engine's)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--cors-origin", f.cors_origins,
                 "a browser origin allowed to call the API (repeat for several; '*' for any); preflights are answered before the key check")
      ->check([](const std::string& origin) {
        return origin == "*" || origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0
                   ? std::string()
                   : std::string("an origin is '*' or starts with http:// or https://");
      });
  app.add_flag("--log-prompts", f.log_prompts, "log request bodies (prompts are not logged otherwise)");
  app.add_flag("--no-maskfill-endpoints", f.no_maskfill_endpoints,
               "answer 404 on /v1/maskfill/* like any other OpenAI-compatible server (tests the language server's "
               "text-prompt backend mode)");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-file", f.log_file, "log to this file instead of stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  setup_logging(f);
  tune_malloc();
  serve::ApiSettings api;
  api.max_n = f.max_n;
  if (f.threshold == "none") {
    api.threshold.reset();
  } else if (f.threshold == "default") {
    api.threshold = InfillSettings{}.threshold;
  } else {
    try {
      double t = std::stod(f.threshold);
      if (!(t > 0 && t <= 1)) throw std::out_of_range("threshold");
      api.threshold = t;
    } catch (const std::exception&) {
      std::fprintf(stderr, "maskfill serve: --threshold must be a number in (0,1] or 'none'\n");
      return 2;
    }
  }
  serve::HttpOptions http;
  http.host = f.host;
  http.port = f.port;
  http.max_connections = f.max_connections;
  http.max_connections_per_ip = f.max_connections_per_ip;
  http.idle_timeout_ms = f.idle_timeout_ms;
  http.header_timeout_ms = f.header_timeout_ms;
  http.cors_origins = f.cors_origins;
  if (!f.api_key_file.empty()) http.api_key = read_api_key(f.api_key_file);
  if (!serve::is_loopback_host(f.host) && !http.api_key) {
    std::fprintf(stderr,
                 "maskfill serve: --host %s is not a loopback address: give --api-key-file (clients send "
                 "'Authorization: Bearer KEY'), and put a TLS proxy in front (docs/deploy.md)\n",
                 f.host.c_str());
    return 2;
  }

  std::string dir = f.model.empty() ? default_model_dir() : f.model;
  if (dir.empty()) throw std::runtime_error("no model: give --model (no bundled models/maskfill-tiny found)");
  api.model_id = f.model_id.empty() ? std::filesystem::path(dir).lexically_normal().filename().string() : f.model_id;
  if (api.model_id.empty()) api.model_id = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();

  // SIGINT/SIGTERM are taken by one thread (sigwait) that stops the server cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  spdlog::info("serve: loading {}", dir);
  DeviceOptions device{f.device, f.dtype, f.threads};
  std::unique_ptr<Engine> engine = load_engine(dir, device);
  if (f.prompt_cache_mb >= 0) engine->set_prompt_cache_limit_mb(f.prompt_cache_mb);
  http.max_body = f.max_body ? f.max_body : body_limit_for(*engine);
  spdlog::info("serve: request bodies up to {} bytes{}", http.max_body, f.max_body ? "" : " (sized to the context)");
  serve::ServiceOptions options;
  options.model_dir = dir;
  options.api = api;
  options.batch.max_batch = f.max_batch;
  options.batch.max_waiting = f.max_queue;
  options.log_prompts = f.log_prompts;
  options.maskfill_endpoints = !f.no_maskfill_endpoints;
  serve::Service service(*engine, options);
  serve::HttpServer server(
      http, [&](const serve::HttpRequest& request, serve::HttpResponder& responder) { service.handle(request, responder); },
      [&](const std::string& reason, const std::string&) { service.metrics().rejected(reason); });
  raise_open_file_limit();
  server.listen();
  std::string where = "http://" + (f.host.find(':') != std::string::npos ? "[" + f.host + "]" : f.host) + ":" +
                      std::to_string(server.port());
  std::fprintf(stderr, "maskfill serve: listening on %s (model %s: %s, max batch %d%s)\n", where.c_str(),
               api.model_id.c_str(), engine->description().c_str(), f.max_batch, http.api_key ? ", API key required" : "");
  // The first signal drains (no new requests; those in flight finish within --drain-seconds),
  // a second one stops at once.
  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    for (int count = 0; !finished; ++count) {
      int received = 0;
      sigwait(&signals, &received);
      if (finished) return;
      if (count == 0) {
        spdlog::info("serve: signal {}: draining (at most {} s)", received, f.drain_seconds);
        server.drain(std::chrono::milliseconds(int64_t(f.drain_seconds * 1000)));
      } else {
        spdlog::info("serve: signal {}: stopping now", received);
        server.stop();
        return;
      }
    }
  });
  server.run();
  finished = true;
  service.stop();
  // The signal thread is still in sigwait when run() ended for another reason.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  spdlog::info("serve: stopped");
  spdlog::shutdown();
  return 0;
}

const RegisterCommand serve_command{"serve", "serve the model over an OpenAI-compatible HTTP API (batching across users)", run_serve};

}  // namespace
}  // namespace maskfill
