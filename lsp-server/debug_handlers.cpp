// maskfill/debugWait: occupies the worker for `ms` milliseconds while polling its cancellation
// token, like a denoising loop does. It lets end-to-end tests exercise $/cancelRequest and
// supersession over the real wire without a model.
#include <chrono>
#include <thread>

#include "lsp-server/server.h"

namespace maskfill::lsp {

void register_debug_handlers(Server& server) {
  server.on_request("maskfill/debugWait", [&server](const json& id, const json& params) -> std::optional<json> {
    int ms = params.at("ms").get<int>();
    if (ms < 0 || ms > 60000) throw std::invalid_argument("ms must be from 0 to 60000");
    server.run_on_worker(id, "debugWait", params.value("uri", ""), [ms](const CancelToken& token) {
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
