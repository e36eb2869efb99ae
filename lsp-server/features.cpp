// Where the editing features of issue 5 (inline completion, code actions, executeCommand,
// maskfill/status) register their handlers. None is registered yet: infill's Completer has no
// implementation to call, and the server advertises only what works.
#include "lsp-server/transport.h"

namespace maskfill::lsp {

void register_features(Server&) {}

}  // namespace maskfill::lsp
