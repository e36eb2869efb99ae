// `maskfill serve` in process: the HTTP server and the OpenAI routes over a scripted engine (the
// bundled model's tokenizer and config, no torch), and the remote engine of `lsp --backend`
// talking to it: the same tokens as the engine itself, batches, cancellation that reaches the
// server, timeouts, refused keys and unreachable servers with readable errors; plus the text
// stream's stop strings and hold-back.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "inference/model_files.h"
#include "infill/prompt_builder.h"
#include "inference/tokenizer.h"
#include "serve/http_server.h"
#include "inference/remote/remote_engine.h"
#include "tests/support/fake_engine.h"
#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/openai.h"
#include "serve/service.h"
#include "inference/text_stream.h"

using namespace maskfill;
using namespace std::chrono_literals;

namespace {

using maskfill::testing::bundled_model_dir;

// The shared fake engine (tests/support/fake_engine.h): "x = <seed> + <prompt length>", cut to the
// requested length, one block per step (sleeping step_ms), polling cancel.
class FakeEngine : public maskfill::testing::ScriptedFakeEngine {
 public:
  explicit FakeEngine(int step_ms = 0) {
    this->step_ms = step_ms;
    cap_to_length = true;
    reply = [](const std::vector<int32_t>& prompt, const DecodeOptions& options) {
      return "x = " + std::to_string(options.seed) + " + " + std::to_string(prompt.size());
    };
  }
  const std::atomic<int>& cancelled = cancelled_calls;
};

// `maskfill serve` on a free loopback port in this process.
struct Server {
  explicit Server(Engine& engine, std::optional<std::string> key = std::nullopt, serve::HttpOptions http = {}) {
    serve::ServiceOptions options;
    options.model_dir = bundled_model_dir();
    options.api.model_id = "maskfill-tiny";
    service = std::make_unique<serve::Service>(engine, options);
    http.port = 0;
    http.api_key = key;
    server = std::make_unique<serve::HttpServer>(http, [this](const serve::HttpRequest& r, serve::HttpResponder& w) { service->handle(r, w); });
    server->listen();
    url = "http://127.0.0.1:" + std::to_string(server->port());
    thread = std::thread([this] { server->run(); });
  }
  ~Server() {
    server->stop();
    thread.join();
    service->stop();
  }
  int port() const { return server->port(); }
  std::unique_ptr<serve::Service> service;
  std::unique_ptr<serve::HttpServer> server;
  std::string url;
  std::thread thread;
};

// A loopback client on a raw socket, for what HTTP client libraries never do: half-close, send
// a header and stop, lie about the body's length.
class RawClient {
 public:
  // `source`: the client's address (any of 127.0.0.0/8 is loopback), to stand for another peer.
  explicit RawClient(int port, const char* source = nullptr) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    if (source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      REQUIRE(::inet_pton(AF_INET, source, &local.sin_addr) == 1);
      REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  void send(const std::string& bytes) { REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size())); }
  void half_close() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Everything the server sends until it closes the connection or `limit` passes.
  std::string read_until_closed(std::chrono::milliseconds limit = 10s) {
    std::string out;
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 50};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, size_t(n));
    }
    return out;
  }
  bool closed_by_server() const { return closed_; }

 private:
  int fd_;
  bool closed_ = false;
};

// The final answer's status line, past any interim (1xx) answers.
std::string final_status(std::string reply) {
  while (reply.rfind("HTTP/1.1 1", 0) == 0 && reply.find("\r\n\r\n") != std::string::npos)
    reply = reply.substr(reply.find("\r\n\r\n") + 4);
  return reply.substr(0, reply.find("\r\n"));
}

std::string post(const std::string& path, const std::string& body, const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

DecodeOptions options_with(uint64_t seed, int gen = 16) {
  DecodeOptions o;
  o.gen_length = gen;
  o.seed = seed;
  o.threshold = 0.9;
  return o;
}

}  // namespace

TEST_CASE("remote engine: same tokens, stop reason and stats as the engine behind the server", "[serve]") {
  FakeEngine engine;
  Server server(engine);
  auto remote = connect_remote_engine({server.url});
  CHECK(remote->description() == "remote: " + server.url + " (fake engine)");
  CHECK(remote->config().vocab_size == engine.config().vocab_size);
  std::vector<int32_t> prompt = engine.tokenizer().encode("def f(x):\n    return ");
  DecodeResult local = engine.generate(prompt, options_with(7), {});
  DecodeResult over_http = remote->generate(prompt, options_with(7), {});
  CHECK(over_http.tokens == local.tokens);
  CHECK(over_http.text == local.text);
  CHECK(over_http.stop == StopReason::Eos);
  CHECK(over_http.stats.forwards == local.stats.forwards);
  CHECK(over_http.stats.prompt_tokens == int(prompt.size()));
}

TEST_CASE("remote engine: a confidence bound reaches the server and an unsure stop comes back", "[serve]") {
  FakeEngine engine;
  Server server(engine);
  auto remote = connect_remote_engine({server.url});
  std::vector<int32_t> prompt = engine.tokenizer().encode("a = 1\n");
  DecodeOptions options = options_with(3);
  options.stop_below_confidence = 0.5;
  engine.confidences = {0.25, 0.75};
  DecodeResult unsure = remote->generate(prompt, options, {});
  CHECK(unsure.stop == StopReason::Unsure);
  CHECK(unsure.stats.min_confidence == 0.25);
  DecodeResult sure = remote->generate(prompt, options, {});
  CHECK(sure.stop == StopReason::Eos);
  std::lock_guard lock(engine.mutex);
  REQUIRE(engine.options_seen.size() == 2);
  CHECK(engine.options_seen[0].stop_below_confidence == 0.5);
}

TEST_CASE("remote engine: a batch sends its sequences together and keeps them apart", "[serve]") {
  FakeEngine engine(5);
  Server server(engine);
  auto remote = connect_remote_engine({server.url});
  std::vector<int32_t> prompt = engine.tokenizer().encode("a = 1\n");
  auto batch = remote->start_batch();
  int a = batch->add(prompt, options_with(1), {});
  int b = batch->add(prompt, options_with(2), {});
  while (batch->active() > 0) batch->step();
  CHECK(batch->take(b).text == "x = 2 + " + std::to_string(prompt.size()));
  CHECK(batch->take(a).text == "x = 1 + " + std::to_string(prompt.size()));
}

TEST_CASE("remote engine: cancelling aborts the request and the server cancels the sequence", "[serve]") {
  FakeEngine engine(20);  // 64 tokens = 16 steps of 20 ms
  Server server(engine);
  auto remote = connect_remote_engine({server.url});
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(60ms);
    cancel = true;
  });
  DecodeResult result = remote->generate(engine.tokenizer().encode("b = 2\n"), options_with(0, 64), [&] { return cancel.load(); });
  canceller.join();
  CHECK(result.stop == StopReason::Cancelled);
  for (int i = 0; i < 500 && engine.cancelled == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(engine.cancelled == 1);
}

TEST_CASE("remote engine: timeouts, refused keys and unreachable servers give readable errors", "[serve]") {
  FakeEngine slow(2000);
  Server server(slow, std::string("secret-key-0123456789"));
  RemoteOptions options{server.url, "secret-key-0123456789"};
  options.timeout_ms = 300;
  auto remote = connect_remote_engine(options);
  std::string failure;
  auto listener_engine = connect_remote_engine(options, [&](bool ok, const std::string& message) { if (!ok) failure = message; });
  REQUIRE_THROWS_WITH(listener_engine->generate({1, 2, 3}, options_with(0, 8), {}),
                      Catch::Contains("did not answer within 300 ms"));
  CHECK(failure.find("did not answer") != std::string::npos);
  REQUIRE_THROWS_WITH(connect_remote_engine({server.url, "wrong-key"}), Catch::Contains("refused the API key"));
  // A port nobody listens on (the server's own, after it stopped).
  std::string gone;
  {
    FakeEngine engine;
    Server brief(engine);
    gone = brief.url;
  }
  REQUIRE_THROWS_WITH(connect_remote_engine({gone}), Catch::Contains("cannot reach the backend"));
  REQUIRE_THROWS_WITH(connect_remote_engine({"ftp://example"}), Catch::Contains("http://"));
  CHECK(normalize_backend_url("http://box:8080/v1/") == "http://box:8080");
}

TEST_CASE("batcher: withdrawn requests leave the queue at once and are counted as cancelled", "[serve]") {
  FakeEngine engine(/*step_ms=*/200);  // the first request keeps the inference thread busy (16 blocks)
  serve::Metrics metrics;
  serve::BatcherOptions options;
  options.max_batch = 1;
  options.max_waiting = 16;
  serve::Batcher batcher(engine, options, metrics);
  auto job_of = [](int choices) {
    auto job = std::make_shared<serve::Job>();
    for (int i = 0; i < choices; ++i) job->choices.push_back({{0, 10, 11, 12}, options_with(uint64_t(i), 64)});
    return job;
  };
  auto busy = job_of(1);
  REQUIRE(batcher.submit(busy));
  for (int i = 0; i < 15000 && batcher.active() == 0; ++i) std::this_thread::sleep_for(2ms);
  std::vector<std::shared_ptr<serve::Job>> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(job_of(4));
    REQUIRE(batcher.submit(queued.back()));
  }
  CHECK(batcher.waiting() == 16);
  CHECK_FALSE(batcher.submit(job_of(1)));  // the queue is full
  for (auto& job : queued) batcher.withdraw(job);
  CHECK(batcher.waiting() == 0);  // freed now, not when the busy request's step ends
  CHECK(batcher.submit(job_of(1)));
  const std::string text = metrics.text();
  CHECK(text.find("maskfill_cancelled_sequences_total 16") != std::string::npos);
  batcher.withdraw(busy);
}

TEST_CASE("constant-time key comparison and loopback detection", "[serve]") {
  CHECK(serve::constant_time_equal("abc", "abc"));
  CHECK_FALSE(serve::constant_time_equal("abd", "abc"));
  CHECK_FALSE(serve::constant_time_equal("ab", "abc"));
  CHECK_FALSE(serve::constant_time_equal("abcd", "abc"));
  CHECK_FALSE(serve::constant_time_equal("", "abc"));
  CHECK(serve::is_loopback_host("127.0.0.1"));
  CHECK(serve::is_loopback_host("::1"));
  CHECK(serve::is_loopback_host("localhost"));
  CHECK_FALSE(serve::is_loopback_host("0.0.0.0"));
  CHECK_FALSE(serve::is_loopback_host("10.1.2.3"));
}

TEST_CASE("text stream: stop strings across tokens, hold-back while a stop may start, token cap", "[serve]") {
  Tokenizer tokenizer = Tokenizer::from_file(locate_model_files(bundled_model_dir()).tokenizer_json_path);
  std::vector<int32_t> all = tokenizer.encode("total = 0\nfor x in xs:\n");
  SECTION("stop string") {
    TextStream stream(tokenizer, {"\nfor"}, 0);
    std::string sent;
    for (size_t n = 1; n <= all.size() && !stream.done(); ++n) sent += stream.update({all.begin(), all.begin() + n}, false);
    sent += stream.update(all, true);
    CHECK(sent == "total = 0");
    CHECK(stream.stop_hit());
  }
  SECTION("no stop: everything, in order, nothing twice") {
    TextStream stream(tokenizer, {"never"}, 0);
    std::string sent;
    for (size_t n = 1; n <= all.size(); ++n) sent += stream.update({all.begin(), all.begin() + n}, n == all.size());
    CHECK(sent == "total = 0\nfor x in xs:\n");
    CHECK_FALSE(stream.stop_hit());
  }
  SECTION("token cap") {
    TextStream stream(tokenizer, {}, 3);
    std::string sent = stream.update(all, true);
    CHECK(stream.length_hit());
    CHECK(stream.tokens().size() == 3);
    CHECK(sent == tokenizer.decode({all.begin(), all.begin() + 3}));
  }
}

TEST_CASE("serve: a client that half-closes after its request still gets the whole answer", "[serve]") {
  FakeEngine engine(/*step_ms=*/40);  // 4 blocks: the FIN arrives while the request decodes
  Server server(engine);
  SECTION("whole answer") {
    RawClient client(server.port());
    client.send(post("/v1/completions", R"({"prompt": "a = 1\n", "max_tokens": 16})"));
    client.half_close();
    std::string reply = client.read_until_closed();
    CHECK(final_status(reply) == "HTTP/1.1 200 OK");
    CHECK(reply.find("\"text\":\"x = 0 + ") != std::string::npos);
  }
  SECTION("streamed answer") {
    RawClient client(server.port());
    client.send(post("/v1/completions", R"({"prompt": "a = 1\n", "max_tokens": 16, "stream": true})"));
    client.half_close();
    std::string reply = client.read_until_closed();
    CHECK(final_status(reply) == "HTTP/1.1 200 OK");
    CHECK(reply.find("data: [DONE]") != std::string::npos);
  }
  CHECK(engine.cancelled == 0);
}

TEST_CASE("serve: a client that closes its socket is still cancelled", "[serve]") {
  FakeEngine engine(/*step_ms=*/20);  // 64 tokens: 16 steps of 20 ms
  Server server(engine);
  RawClient client(server.port());
  client.send(post("/v1/completions", R"({"prompt": "a = 1\n", "max_tokens": 64})"));
  std::this_thread::sleep_for(60ms);
  client.close();
  for (int i = 0; i < 300 && engine.cancelled == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(engine.cancelled == 1);
}

TEST_CASE("serve: the key is checked from the header, before any body is read or its length judged", "[serve]") {
  FakeEngine engine;
  const std::string key = "secret-key-0123456789";
  Server server(engine, key);
  for (const char* length : {"3000000", "1000000000000"}) {
    RawClient client(server.port());
    auto start = std::chrono::steady_clock::now();
    client.send(std::string("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ") + length + "\r\n\r\n{");
    std::string reply = client.read_until_closed(5s);
    CHECK(final_status(reply) == "HTTP/1.1 401 Unauthorized");
    CHECK(std::chrono::steady_clock::now() - start < 4s);  // the body it declared was never awaited
  }
  RawClient keyed(server.port());
  keyed.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\nContent-Length: 1000000000000\r\n\r\n{");
  CHECK(final_status(keyed.read_until_closed(5s)) == "HTTP/1.1 413 Payload Too Large");
}

TEST_CASE("serve: a header that trickles is cut at the header timeout, not the idle timeout", "[serve]") {
  FakeEngine engine;
  serve::HttpOptions http;
  http.header_timeout_ms = 300;
  http.idle_timeout_ms = 30000;
  Server server(engine, std::nullopt, http);
  RawClient silent(server.port());
  RawClient trickle(server.port());
  trickle.send("P");
  auto start = std::chrono::steady_clock::now();
  CHECK(trickle.read_until_closed(5s).empty());
  CHECK(trickle.closed_by_server());
  CHECK(silent.read_until_closed(5s).empty());
  CHECK(silent.closed_by_server());
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  // A kept-alive connection waits the idle timeout between requests, not the header timeout.
  RawClient kept(server.port());
  kept.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(600ms);
  kept.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string both = kept.read_until_closed(5s);
  size_t first = both.find("HTTP/1.1 200");
  CHECK(first != std::string::npos);
  CHECK(both.find("HTTP/1.1 200", first + 1) != std::string::npos);
}

TEST_CASE("openai: sampling fields this server does not implement are refused with 400 naming the field", "[serve]") {
  FakeEngine engine;
  serve::ApiSettings settings;
  settings.model_id = "maskfill-tiny";
  const serve::json refused[] = {
      {{"top_p", 0.9}},           {{"frequency_penalty", 0.5}}, {{"presence_penalty", -1}},
      {{"logit_bias", {{"50256", -100}}}}, {{"top_k", 40}},   {{"min_p", 0.05}},
      {{"repetition_penalty", 1.1}}, {{"response_format", {{"type", "json_object"}}}}, {{"tool_choice", "required"}},
      {{"top_logprobs", 2}},      {{"logprobs", 3}},            {{"best_of", 3}},
  };
  for (const serve::json& extra : refused) {
    const std::string name = extra.begin().key();
    serve::json completion = {{"prompt", "a = 1\n"}}, chat = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    completion.update(extra);
    chat.update(extra);
    for (const serve::json& body : {completion, chat}) {
      bool is_chat = body.contains("messages");
      try {
        is_chat ? serve::parse_chat_request(body, engine, settings) : serve::parse_completion_request(body, engine, settings);
        FAIL_CHECK(name << " was accepted");
      } catch (const serve::ApiError& e) {
        CHECK(e.status == 400);
        CHECK(e.param == name);
        CHECK(std::string(e.what()).find("'" + name + "'") != std::string::npos);
      }
    }
  }
  // The values that change nothing are accepted.
  serve::json neutral = {{"prompt", "a = 1\n"}, {"top_p", 1},  {"frequency_penalty", 0}, {"presence_penalty", 0.0},
                         {"logit_bias", serve::json::object()}, {"top_k", -1}, {"response_format", {{"type", "text"}}},
                         {"tool_choice", "none"}, {"logprobs", nullptr}};
  CHECK_NOTHROW(serve::parse_completion_request(neutral, engine, settings));
}

TEST_CASE("serve: GET /v1/models/{id} answers the model, or OpenAI's 404 for another id", "[serve]") {
  FakeEngine engine;
  Server server(engine);
  auto get = [&](const std::string& path) {
    RawClient client(server.port());
    client.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return client.read_until_closed(5s);
  };
  std::string found = get("/v1/models/maskfill-tiny");
  CHECK(final_status(found) == "HTTP/1.1 200 OK");
  CHECK(found.find(R"("id":"maskfill-tiny")") != std::string::npos);
  CHECK(found.find(R"("object":"model")") != std::string::npos);
  CHECK(final_status(get("/v1/models/maskfill%2Dtiny")) == "HTTP/1.1 200 OK");  // escaped, as the SDKs send it
  std::string missing = get("/v1/models/gpt-4");
  CHECK(final_status(missing) == "HTTP/1.1 404 Not Found");
  CHECK(missing.find(R"("code":"model_not_found")") != std::string::npos);
  CHECK(missing.find("'gpt-4' does not exist") != std::string::npos);
}

TEST_CASE("infill: llama.cpp's request becomes the SPM prompt, extra context first, n_predict 0 decodes nothing", "[serve]") {
  FakeEngine engine;
  serve::ApiSettings settings;
  settings.model_id = "maskfill-tiny";
  serve::json body = {{"input_prefix", "def add(a, b):\n"}, {"prompt", "    return "}, {"input_suffix", "\n\nprint(add(1, 2))\n"},
                      {"input_extra", {{{"filename", "util.py"}, {"text", "def sub(a, b):\n    return a - b"}}}},
                      {"n_predict", 24}, {"top_k", 40}, {"top_p", 0.9}, {"samplers", {"top_k", "top_p", "infill"}}};
  serve::ApiRequest request = serve::parse_infill_request(body, engine, settings);
  REQUIRE(request.job->choices.size() == 1);
  std::optional<int32_t> bos;
  if (engine.tokenizer_config().add_bos_token) bos = engine.config().bos_token_id;
  FimPrompt expected = build_fim_prompt(engine.tokenizer(), "def sub(a, b):\n    return a - b\ndef add(a, b):\n    return ",
                                        "\n\nprint(add(1, 2))\n", {1000, 1000}, bos);
  CHECK(request.job->choices[0].prompt == expected.ids);
  CHECK(request.job->max_tokens == 24);
  CHECK_FALSE(request.truncated);
  body["n_predict"] = 0;
  CHECK(serve::parse_infill_request(body, engine, settings).job->choices.empty());
  for (auto [name, value] : {std::pair<const char*, serve::json>{"input_extra", "text"}, {"n_predict", "many"}, {"input_suffix", 5}}) {
    serve::json broken = body;
    broken[name] = value;
    try {
      serve::parse_infill_request(broken, engine, settings);
      FAIL_CHECK(name << " was accepted");
    } catch (const serve::ApiError& e) {
      CHECK(e.status == 400);
      CHECK(e.param == name);
    }
  }
}

TEST_CASE("serve: CORS is opt-in, a listed origin's preflight is answered before the key check", "[serve]") {
  FakeEngine engine;
  serve::HttpOptions http;
  http.cors_origins = {"https://app.example"};
  Server server(engine, std::string("secret-key-0123456789"), http);
  auto send = [&](const std::string& request) {
    RawClient client(server.port());
    client.send(request);
    return client.read_until_closed(5s);
  };
  auto preflight = [](const std::string& origin) {
    return "OPTIONS /v1/completions HTTP/1.1\r\nHost: x\r\nOrigin: " + origin +
           "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n";
  };
  std::string allowed = send(preflight("https://app.example"));
  CHECK(final_status(allowed) == "HTTP/1.1 204 No Content");
  CHECK(allowed.find("Access-Control-Allow-Origin: https://app.example") != std::string::npos);
  CHECK(allowed.find("Access-Control-Allow-Headers: Authorization, Content-Type") != std::string::npos);
  std::string other = send(preflight("https://evil.example"));
  CHECK(final_status(other) == "HTTP/1.1 403 Forbidden");
  CHECK(other.find("Access-Control-Allow-Origin") == std::string::npos);
  // Answers to a listed origin carry the header, refusals too (so the page can read the error).
  std::string health = send("GET /health HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n");
  CHECK(final_status(health) == "HTTP/1.1 200 OK");
  CHECK(health.find("Access-Control-Allow-Origin: https://app.example") != std::string::npos);
  std::string keyless = send("GET /metrics HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n");
  CHECK(final_status(keyless) == "HTTP/1.1 401 Unauthorized");
  CHECK(keyless.find("Access-Control-Allow-Origin: https://app.example") != std::string::npos);
  // Without an allow-list nothing changes: a preflight is just an unauthenticated request.
  Server plain(engine, std::string("secret-key-0123456789"));
  RawClient client(plain.port());
  client.send(preflight("https://app.example"));
  std::string refused = client.read_until_closed(5s);
  CHECK(final_status(refused) == "HTTP/1.1 401 Unauthorized");
  CHECK(refused.find("Access-Control-Allow-Origin") == std::string::npos);
}

TEST_CASE("openai: a prompt far over the context is refused from its length, a huge infill prefix is cut to fit", "[serve]") {
  FakeEngine engine;
  serve::ApiSettings settings;
  settings.model_id = "maskfill-tiny";
  const std::string spaces(4 << 20, ' ');
  auto refused = [&](auto parse, const serve::json& body, const char* param) {
    try {
      parse(body, engine, settings);
      FAIL_CHECK(param << " was accepted");
    } catch (const serve::ApiError& e) {
      CHECK(e.status == 400);
      CHECK(e.code == "context_length_exceeded");
      CHECK(e.param == param);
      CHECK(std::string(e.what()).find("the prompt has more than") != std::string::npos);
    }
  };
  refused(serve::parse_completion_request, {{"prompt", spaces}}, "prompt");
  refused(serve::parse_completion_request, {{"prompt", {"x", spaces}}}, "prompt");
  std::string words(4 << 20, 'a');  // the chat template trims whitespace, so letters here
  for (size_t i = 7; i < words.size(); i += 8) words[i] = ' ';
  refused(serve::parse_chat_request, {{"messages", {{{"role", "user"}, {"content", words}}}}}, "messages");
  // Just over the context by tokens (not by bytes): the ids are counted, the same error.
  std::string numbered;
  for (int i = 0; i < 3000; ++i) numbered += " w" + std::to_string(i);
  try {
    serve::parse_completion_request({{"prompt", numbered}}, engine, settings);
    FAIL_CHECK("3000 words were accepted");
  } catch (const serve::ApiError& e) {
    CHECK(e.code == "context_length_exceeded");
  }
  // /infill cuts instead; the prompt stays within the context.
  serve::ApiRequest infill = serve::parse_infill_request({{"input_prefix", spaces + "x = "}, {"input_suffix", spaces}, {"n_predict", 4}},
                                                         engine, settings);
  CHECK(infill.truncated);
  REQUIRE(infill.job->choices.size() == 1);
  CHECK(int64_t(infill.job->choices[0].prompt.size()) <= engine.config().max_position_embeddings);
  // And so does a completion with a suffix: the prefix end is kept.
  serve::ApiRequest fim = serve::parse_completion_request({{"prompt", "x = "}, {"suffix", spaces}, {"max_tokens", 4}}, engine, settings);
  CHECK(fim.job->choices.size() == 1);
}

TEST_CASE("serve: heap memory is trimmed once no request has been in flight for a while", "[serve]") {
  FakeEngine engine;
  serve::ServiceOptions options;
  options.model_dir = bundled_model_dir();
  options.api.model_id = "maskfill-tiny";
  options.trim_after_idle_ms = 1;
  serve::Service service(engine, options);
  REQUIRE(service.trimmer());
  CHECK(service.trimmer()->trims() == 0);  // nothing ended yet: nothing to give back
  struct Sink : serve::HttpResponder {
    int status = 0;
    void send(int s, const std::string&, const std::string&) override { status = s; }
    bool start_events() override { return true; }
    bool send_event(const std::string&) override { return true; }
    void end_events() override {}
    bool client_gone() override { return false; }
  } sink;
  service.handle({"POST", "/v1/completions", R"({"prompt": "x = ", "max_tokens": 4})", "test"}, sink);
  CHECK(sink.status == 200);
  // The trim runs on its own thread; poll with a limit no busy machine reaches.
  for (int i = 0; i < 3000 && service.trimmer()->trims() == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(service.trimmer()->trims() == 1);
  options.trim_after_idle_ms = -1;
  CHECK_FALSE(serve::Service(engine, options).trimmer());
}

namespace {

// Room for `sockets` descriptors on both ends of loopback connections in this process.
void ensure_descriptors(size_t sockets) {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  rlim_t wanted = rlim_t(2 * sockets + 256);
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  INFO("the open-file limit (ulimit -Hn) is too low for this test");
  REQUIRE(limit.rlim_cur >= wanted);
}

}  // namespace

TEST_CASE("serve: hundreds of idle connections (past the old 64 cap) are held, and a keyed client is still answered", "[serve]") {
  constexpr int kIdle = 300;
  ensure_descriptors(kIdle + 8);
  FakeEngine engine;
  const std::string key = "secret-key-0123456789";
  serve::HttpOptions http;
  http.max_connections_per_ip = 1000;  // all of them come from 127.0.0.1
  http.header_timeout_ms = 600000;     // a slow machine must not cut the idle ones
  Server server(engine, key, http);
  // Each holds half a request head, as a slow client would.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<RawClient>(server.port()));
    idle.back()->send("GET /health HTTP/1.1\r\nHost: x\r\n");
  }
  RawClient keyed(server.port());
  keyed.send(post("/v1/completions", R"({"prompt": "a = 1\n", "max_tokens": 8})", "Authorization: Bearer " + key + "\r\nConnection: close\r\n"));
  std::string reply = keyed.read_until_closed(60s);
  CHECK(final_status(reply) == "HTTP/1.1 200 OK");
  CHECK(reply.find("\"text\":\"x = 0 + ") != std::string::npos);
  // Every idle connection was held open, not refused: each finishes its request and is answered.
  int answered = 0;
  for (auto& client : idle) {
    client->send("Connection: close\r\n\r\n");
    if (final_status(client->read_until_closed(60s)) == "HTTP/1.1 200 OK") ++answered;
  }
  CHECK(answered == kIdle);
}

TEST_CASE("serve: one address past --max-connections-per-ip gets 503 saying so, other addresses still get in", "[serve]") {
  FakeEngine engine;
  serve::HttpOptions http;
  http.max_connections_per_ip = 4;
  http.header_timeout_ms = 600000;
  Server server(engine, std::nullopt, http);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<RawClient>(server.port()));
  RawClient fifth(server.port());
  std::string refused = fifth.read_until_closed(60s);
  CHECK(final_status(refused) == "HTTP/1.1 503 Service Unavailable");
  CHECK(refused.find("Too many connections from 127.0.0.1 (at most 4 per address") != std::string::npos);
  CHECK(refused.find("\"code\":\"too_many_connections\"") != std::string::npos);
  CHECK(fifth.closed_by_server());
  // Another loopback address is another peer.
  RawClient other(server.port(), "127.0.0.2");
  other.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(final_status(other.read_until_closed(60s)) == "HTTP/1.1 200 OK");
  // A closed connection frees its slot (once the server has seen the close).
  held.pop_back();
  std::string status;
  for (int attempt = 0; attempt < 200 && status != "HTTP/1.1 200 OK"; ++attempt) {
    RawClient again(server.port());
    again.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    status = final_status(again.read_until_closed(60s));
    if (status != "HTTP/1.1 200 OK") std::this_thread::sleep_for(50ms);
  }
  CHECK(status == "HTTP/1.1 200 OK");
}
