// The remote engine's text-prompt mode, for OpenAI-compatible servers that are not `maskfill
// serve`: the prompt text built from a FIM prompt in the suffix and the SPM form, the standard
// request fields, and the whole path against `maskfill serve` with its maskfill-only endpoints
// off (the tokenizer then comes from the local snapshot): the server sees the same prompt tokens
// as a local engine would, a server that refuses `suffix` gets SPM text from then on, and a
// missing snapshot gives the error that says what to set.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "inference/model_files.h"
#include "inference/remote/completion_wire.h"
#include "inference/remote/remote_engine.h"
#include "inference/remote/text_prompt.h"
#include "inference/tokenizer.h"
#include "infill/prompt_builder.h"
#include "serve/http_server.h"
#include "serve/service.h"
#include "tests/support/fake_engine.h"

using namespace maskfill;
using maskfill::testing::bundled_model_dir;

namespace {

const Tokenizer& bundled_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_file(bundled_model_dir() + "/tokenizer.json");
  return tokenizer;
}

// `maskfill serve --no-maskfill-endpoints` in this process; `refuse_suffix` makes it answer a
// request with `suffix` as vLLM does (400 naming it).
struct PlainServer {
  explicit PlainServer(Engine& engine, bool refuse_suffix = false) {
    serve::ServiceOptions options;
    options.model_dir = bundled_model_dir();
    options.api.model_id = "maskfill-tiny";
    options.maskfill_endpoints = false;
    service = std::make_unique<serve::Service>(engine, options);
    serve::HttpOptions http;
    http.port = 0;
    server = std::make_unique<serve::HttpServer>(http, [this, refuse_suffix](const serve::HttpRequest& r, serve::HttpResponder& w) {
      bool with_suffix = false;
      if (r.target == "/v1/completions") {
        std::lock_guard lock(mutex);
        bodies.push_back(nlohmann::json::parse(r.body));
        with_suffix = bodies.back().contains("suffix");
      }
      if (refuse_suffix && with_suffix) {
        ++refused;
        w.send(400, "application/json", R"({"object":"error","message":"suffix is not currently supported","type":"BadRequestError","param":null,"code":400})");
        return;
      }
      service->handle(r, w);
    });
    server->listen();
    url = "http://127.0.0.1:" + std::to_string(server->port());
    thread = std::thread([this] { server->run(); });
  }
  ~PlainServer() {
    server->stop();
    thread.join();
    service->stop();
  }
  std::unique_ptr<serve::Service> service;
  std::unique_ptr<serve::HttpServer> server;
  std::string url;
  std::thread thread;
  std::mutex mutex;
  std::vector<nlohmann::json> bodies;  // written by the connection threads, read after the answers
  std::atomic<int> refused{0};
};

class EchoEngine : public maskfill::testing::ScriptedFakeEngine {
 public:
  EchoEngine() {
    reply = [](const std::vector<int32_t>& prompt, const DecodeOptions&) { return "y = " + std::to_string(prompt.size()); };
  }
};

RemoteOptions generic(const std::string& url, RemotePrompt prompt = RemotePrompt::Auto) {
  RemoteOptions options;
  options.url = url;
  options.prompt = prompt;
  options.model_dir = bundled_model_dir();
  return options;
}

DecodeOptions greedy(int gen = 16) {
  DecodeOptions o;
  o.gen_length = gen;
  o.extend_max = 8;
  o.threshold = 0.9;
  o.stop = {"\n\n"};
  return o;
}

}  // namespace

TEST_CASE("text prompt: a FIM prompt becomes prompt + suffix, or the SPM prompt spelled out", "[remote]") {
  const Tokenizer& tokenizer = bundled_tokenizer();
  std::string prefix = "# utils.py\ndef add(a, b):\n    return a + b\n\ndef total(xs):\n    ";
  std::string suffix = "\n\nprint(total([1, 2]))\n";
  FimPrompt fim = build_fim_prompt(tokenizer, prefix, suffix, {384, 128}, std::nullopt);

  TextPrompt with_suffix = text_prompt(tokenizer, fim.ids, TextPromptForm::Suffix, 0);
  CHECK(with_suffix.prompt == prefix);
  REQUIRE(with_suffix.suffix);
  CHECK(*with_suffix.suffix == suffix);

  TextPrompt spm = text_prompt(tokenizer, fim.ids, TextPromptForm::Spm, 0);
  CHECK(spm.prompt == "<[fim-suffix]>" + suffix + "<[fim-prefix]>" + prefix + "<[fim-middle]>");
  CHECK_FALSE(spm.suffix);
  CHECK(tokenizer.encode(spm.prompt) == fim.ids);  // the server's tokenizer gets the same ids back
}

TEST_CASE("text prompt: a leading BOS is left to the server, other prompts go whole", "[remote]") {
  const Tokenizer& tokenizer = bundled_tokenizer();
  FimPrompt fim = build_fim_prompt(tokenizer, "x = ", "\n", {384, 128}, 0);
  REQUIRE(fim.ids.front() == 0);
  CHECK(text_prompt(tokenizer, fim.ids, TextPromptForm::Spm, 0).prompt == "<[fim-suffix]>\n<[fim-prefix]>x = <[fim-middle]>");
  CHECK(text_prompt(tokenizer, fim.ids, TextPromptForm::Suffix, 0).prompt == "x = ");
  // Not a FIM prompt (an edit's chat prompt): the whole text, no suffix, in either form.
  std::vector<int32_t> plain = tokenizer.encode("<[fim-middle]>def f():");
  TextPrompt whole = text_prompt(tokenizer, plain, TextPromptForm::Suffix, 0);
  CHECK(whole.prompt == "<[fim-middle]>def f():");
  CHECK_FALSE(whole.suffix);
}

TEST_CASE("text request: standard OpenAI fields only", "[remote]") {
  DecodeOptions o = greedy();
  nlohmann::json body = remote::text_request("m", {"def f(", std::string(")\n")}, o);
  CHECK(body == nlohmann::json{{"model", "m"}, {"prompt", "def f("}, {"suffix", ")\n"}, {"max_tokens", 24},
                               {"temperature", 0.0}, {"n", 1}, {"stop", {"\n\n"}}});
  o.temperature = 0.6;
  o.seed = 3;
  o.stop.clear();
  body = remote::text_request("m", {"<[fim-suffix]>", std::nullopt}, o);
  CHECK_FALSE(body.contains("suffix"));
  CHECK(body["seed"] == 3);
  CHECK_FALSE(body.contains("stop"));
}

TEST_CASE("text answer: re-tokenized, finish and stop reasons mapped", "[remote]") {
  const Tokenizer& tokenizer = bundled_tokenizer();
  DecodeResult result;
  auto answer = [](const char* text) { return nlohmann::json::parse(text); };
  remote::read_text_choice(answer(R"({"choices":[{"text":"return 1","finish_reason":"stop","stop_reason":null}]})"), tokenizer, result);
  CHECK(result.tokens == tokenizer.encode("return 1"));
  CHECK(result.stop == StopReason::Eos);
  DecodeResult by_string;
  remote::read_text_choice(answer(R"({"choices":[{"text":"x","finish_reason":"stop","stop_reason":"\n"}]})"), tokenizer, by_string);
  CHECK(by_string.stop == StopReason::StopString);
  DecodeResult cut;
  remote::read_text_choice(answer(R"({"choices":[{"text":"x","finish_reason":"length"}]})"), tokenizer, cut);
  CHECK(cut.stop == StopReason::Length);
  CHECK_THROWS(remote::read_text_choice(answer(R"({"choices":[{"token_ids":[1]}]})"), tokenizer, cut));
}

TEST_CASE("remote engine without maskfill's endpoints: text prompts with suffix, same prompt tokens on the server", "[remote]") {
  EchoEngine engine;
  PlainServer server(engine);
  auto remote = connect_remote_engine(generic(server.url));
  CHECK(remote->description() == "remote: " + server.url + " (fake engine; text prompts with suffix)");
  FimPrompt fim = build_fim_prompt(remote->tokenizer(), "def f(x):\n    return ", "\n\nf(1)\n", {384, 128}, std::nullopt);
  DecodeResult local = engine.generate(fim.ids, greedy(), {});
  DecodeResult over_http = remote->generate(fim.ids, greedy(), {});
  CHECK(over_http.text == local.text);
  CHECK(over_http.tokens == local.tokens);
  CHECK(over_http.stop == StopReason::Eos);
  REQUIRE(engine.prompts.size() == 2);
  CHECK(engine.prompts[1] == fim.ids);
  REQUIRE(server.bodies.size() == 1);
  const nlohmann::json& sent = server.bodies[0];
  CHECK(sent["prompt"] == "def f(x):\n    return ");
  CHECK(sent["suffix"] == "\n\nf(1)\n");
  for (const char* field : {"return_token_ids", "gen_length", "threshold", "remasking", "ignore_eos", "max_forwards"})
    CHECK_FALSE(sent.contains(field));
}

TEST_CASE("remote engine: a server that refuses suffix gets SPM text from then on", "[remote]") {
  EchoEngine engine;
  PlainServer server(engine, /*refuse_suffix=*/true);
  auto remote = connect_remote_engine(generic(server.url));
  FimPrompt fim = build_fim_prompt(remote->tokenizer(), "a = ", "\n", {384, 128}, std::nullopt);
  auto batch = remote->start_batch();
  int first = batch->add(fim.ids, greedy(), {});
  int second = batch->add(fim.ids, greedy(), {});
  while (batch->active() > 0) batch->step();
  CHECK(batch->take(first).text == "y = " + std::to_string(fim.ids.size()));
  CHECK(batch->take(second).text == "y = " + std::to_string(fim.ids.size()));
  int refused_in_batch = server.refused;
  CHECK(refused_in_batch >= 1);  // at most the two sent together
  CHECK(refused_in_batch <= 2);
  CHECK(remote->generate(fim.ids, greedy(), {}).text == "y = " + std::to_string(fim.ids.size()));
  CHECK(server.refused == refused_in_batch);  // none after the switch
  CHECK(server.bodies.back()["prompt"] == "<[fim-suffix]>\n<[fim-prefix]>a = <[fim-middle]>");
  CHECK(remote->description().find("SPM text prompts") != std::string::npos);
}

TEST_CASE("remote engine: the forms can be chosen, and a missing snapshot says what to set", "[remote]") {
  EchoEngine engine;
  PlainServer server(engine);
  auto spm = connect_remote_engine(generic(server.url, RemotePrompt::Spm));
  FimPrompt fim = build_fim_prompt(spm->tokenizer(), "b = ", "\n", {384, 128}, std::nullopt);
  CHECK(spm->generate(fim.ids, greedy(), {}).text == "y = " + std::to_string(fim.ids.size()));
  CHECK_FALSE(server.bodies.back().contains("suffix"));

  RemoteOptions no_snapshot = generic(server.url);
  no_snapshot.model_dir.clear();
  REQUIRE_THROWS_WITH(connect_remote_engine(no_snapshot),
                      Catch::Contains("does not serve maskfill's model files; set the model path"));
  REQUIRE_THROWS_WITH(connect_remote_engine(generic(server.url, RemotePrompt::Tokens)), Catch::Contains("token-id prompts"));
  RemoteOptions wrong_dir = generic(server.url);
  wrong_dir.model_dir = "/nonexistent-snapshot";
  REQUIRE_THROWS_WITH(connect_remote_engine(wrong_dir), Catch::Contains("cannot read /nonexistent-snapshot/config.json"));
  CHECK(parse_remote_prompt("spm") == RemotePrompt::Spm);
  CHECK_THROWS_WITH(parse_remote_prompt("ids"), Catch::Contains("auto, tokens, suffix or spm"));
}
