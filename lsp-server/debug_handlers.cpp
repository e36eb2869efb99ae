// Test-only methods, registered only with ServerOptions::test_methods
// (`maskfill lsp --enable-test-methods`):
// - maskfill/debugDocument {uri}: the server's copy of a document (text and syntax tree), so
//   tests can compare it with the client's;
// - maskfill/debugWait {ms, uri?}: occupies the worker for `ms` milliseconds while polling its
//   cancellation token, like a denoising loop does, so end-to-end tests exercise
//   $/cancelRequest and supersession over the real wire without a model.
#include <chrono>
#include <thread>

#include "lsp-server/server.h"

namespace maskfill::lsp {
namespace {

json debug_document(Server& server, const json& params) {
  std::string uri = read_params(params).at("uri").string();
  std::shared_ptr<const Document> document = server.documents().snapshot(uri);
  if (!document) throw LspError(ErrorCode::InvalidParams, "document not open: " + uri);
  const LanguageInfo* language = document->source.language();
  return {{"uri", uri},
          {"version", document->version},
          {"languageId", document->language_id},
          {"language", language ? json(language->name) : json()},
          {"text", document->source.text()},
          {"tree", document->source.tree_sexp()}};
}

}  // namespace

void register_test_methods(Server& server) {
  server.on_request("maskfill/debugDocument", [&server](const json&, const json& params) -> std::optional<json> {
    return debug_document(server, params);
  });
  server.on_request("maskfill/debugWait", [&server](const json& id, const json& params) -> std::optional<json> {
    JsonField fields = read_params(params);
    int ms = static_cast<int>(fields.at("ms").integer(0, 60000));
    server.run_on_worker(id, "debugWait", fields.string_or("uri", ""), [ms](const CancelToken& token) {
      auto start = std::chrono::steady_clock::now();
      auto deadline = start + std::chrono::milliseconds(ms);
      while (std::chrono::steady_clock::now() < deadline && !token.cancelled())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      return json{{"waitedMs", waited.count()}};
    });
    return std::nullopt;
  });
}

}  // namespace maskfill::lsp
