// The editing features (issue 5): inline completion, code actions, the commands they run,
// maskfill/fill, maskfill/edit and maskfill/status. Handlers take a snapshot of the document on
// the I/O thread and hand the model work to the worker; every answer refers to that snapshot's
// version, so an edit never lands on text the user has changed since.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "inference/tokenizer.h"
#include "infill/plan.h"
#include "lsp-server/model_host.h"
#include "lsp-server/protocol_schema.h"
#include "lsp-server/transport.h"

namespace maskfill::lsp {
namespace {

// Names from editors/protocol.json (tests/unit/test_protocol_schema.cpp checks they match).
constexpr const char* kFillCommand = "maskfill.fillSelection";
// Clients with an input box intercept it and ask; others pass `instruction` in the argument.
constexpr const char* kEditCommand = "maskfill.editWithInstruction";
constexpr const char* kApplyInstructionCommand = "maskfill.applyInstruction";
constexpr const char* kAcceptCommand = "maskfill.didAccept";
constexpr const char* kReloadCommand = "maskfill.reload";
constexpr const char* kAcceptNextEditCommand = "maskfill.didAcceptNextEdit";
constexpr int kCodeActionInvoked = 1;

bool client_supports_document_changes(const json& capabilities) {
  return client_can(capabilities, {"workspace", "workspaceEdit", "documentChanges"});
}

// Asks the client to report source files created, changed or deleted on disk, so the workspace
// index follows edits made outside the editor (git checkout, a formatter, another tool).
void watch_source_files(Server& server) {
  if (!client_can(server.client_capabilities(), {"workspace", "didChangeWatchedFiles", "dynamicRegistration"})) return;
  json watcher = {{"globPattern", "**/*.{py,js,mjs,cjs,jsx,ts,tsx,c,h,cc,cpp,cxx,hh,hpp,hxx,go,rs,java}"}};
  server.send_request("client/registerCapability",
                      {{"registrations", {{{"id", "maskfill-watched-files"}, {"method", "workspace/didChangeWatchedFiles"},
                                           {"registerOptions", {{"watchers", {watcher}}}}}}}},
                      [](const json&, const auto& error) {
                        if (error) spdlog::info("file watching refused by the client: {}", error->dump());
                      });
}

std::shared_ptr<const Document> snapshot_of(Server& server, const std::string& uri) {
  auto snapshot = server.documents().snapshot(uri);
  if (!snapshot) throw LspError(ErrorCode::InvalidParams, "document not open: " + uri);
  return snapshot;
}

// The document moved on since the request (or the command's arguments) were made.
void require_version(Server& server, const Document& snapshot, const json& expected_version) {
  auto current = server.documents().version(snapshot.uri);
  bool stale = !current || *current != snapshot.version ||
               (expected_version.is_number_integer() && expected_version.get<int>() != snapshot.version);
  if (stale) throw LspError(ErrorCode::ContentModified, "the document changed; the edit was not applied");
}

json text_edits(const Document& snapshot, const std::vector<ByteEdit>& edits, PositionEncoding encoding) {
  json out = json::array();
  for (const ByteEdit& edit : edits)
    out.push_back({{"range", range_to_json(snapshot.source.text(), {edit.begin, edit.end}, encoding)},
                   {"newText", edit.text}});
  return out;
}

const Candidate& best_candidate(const CompletionOutcome& outcome) {
  if (outcome.cancelled) throw LspError(ErrorCode::RequestCancelled, "request cancelled");
  if (!outcome.declined_reason.empty()) throw LspError(ErrorCode::RequestFailed, outcome.declined_reason);
  if (outcome.candidates.empty()) throw LspError(ErrorCode::RequestFailed, "the model produced nothing usable here");
  return outcome.candidates.front();
}

struct Features {
  explicit Features(Server& s) : server(s), host(s) {}
  Server& server;
  ModelHost host;
  std::atomic<int64_t> next_item_id{1};

  CancelCheck cancel_check(const CancelToken& token) { return [token] { return token.cancelled(); }; }

  // Cross-file context for a plan of `doc`: the project's sources under the configured budget.
  ContextInputs context_for(const Document& doc) {
    return server.project().inputs_for(doc, server.documents(), server.config().context);
  }

  // The context went into the prompt: counted for the status tooltip, the prompt logged at trace.
  void report_context(const Plan& plan, const Tokenizer& tokenizer) {
    host.note_context(plan.context.snippets.size(), plan.context.ids.size());
    for (const ContextSnippet& snippet : plan.context.snippets)
      spdlog::debug("context: {} {}:{}-{} ({} tokens)", context_source_name(snippet.source), snippet.path,
                    snippet.first_line + 1, snippet.last_line + 1, snippet.tokens);
    if (spdlog::should_log(spdlog::level::trace))
      spdlog::trace("prompt ({} tokens):\n{}", plan.prompt.size(), tokenizer.decode(plan.prompt, false));
  }

  json inline_completion(const Document& doc, size_t cursor, Trigger trigger, const CancelToken& token) {
    Engine& engine = host.engine();
    auto guard = host.busy();
    ContextInputs context = context_for(doc);
    Plan plan = plan_inline(ModelView::of(engine), doc.source, cursor, trigger, server.config().infill, &context);
    report_context(plan, engine.tokenizer());
    CompletionOutcome outcome = execute_plan(engine, doc.source, plan, cancel_check(token));
    if (outcome.cancelled) throw LspError(ErrorCode::RequestCancelled, "request cancelled");
    json items = json::array();
    for (const Candidate& candidate : outcome.candidates) {
      if (!candidate.syntax_ok && trigger == Trigger::Automatic) continue;  // never show a syntax breaker unasked
      int64_t id = next_item_id++;
      const ByteEdit& edit = candidate.replacement;
      items.push_back({{"insertText", edit.text},
                       {"range", range_to_json(doc.source.text(), {edit.begin, edit.end}, server.encoding())},
                       {"command", {{"title", "maskfill: accepted"}, {"command", kAcceptCommand},
                                    {"arguments", {{{"id", id}}}}}}});
    }
    return {{"items", items}};
  }

  // Next-edit suggestions for `doc` after its latest edit: one edit per site the gate let
  // through, each with an id the client reports back (shown, accepted, rejected) and the
  // document it is in: `doc`, another open one, or a workspace file the client has not opened
  // (no version: the server read it from disk).
  struct NextEditAnswer {
    int64_t id = 0;
    ByteEdit edit;
    std::string uri;
    std::optional<int> version;
    std::shared_ptr<const SourceDocument> source;
  };
  std::vector<NextEditAnswer> next_edits(const std::shared_ptr<const Document>& doc, const CancelToken& token) {
    Engine& engine = host.engine();
    auto guard = host.busy();
    const auto& folders = server.project().folders();
    OpenDocuments open = open_documents_besides(*doc);
    // The workspace's files that are not open are searched only where open documents are.
    std::shared_ptr<const WorkspaceIndex> index =
        server.config().context.open_documents ? server.project().index() : nullptr;
    Plan plan = plan_next_edit(ModelView::of(engine), doc->source, server.project().path_or_uri(doc->uri),
                               server.project().edit_history(), server.config().infill,
                               folders.empty() ? "" : folders.front().string(), open.sources, index.get());
    std::vector<NextEditAnswer> out;
    if (!plan.declined_reason.empty()) {
      spdlog::debug("next edits: {}", plan.declined_reason);
      return out;
    }
    CompletionOutcome outcome = execute_plan(engine, doc->source, plan, cancel_check(token));
    if (outcome.cancelled) throw LspError(ErrorCode::RequestCancelled, "request cancelled");
    for (const Candidate& held : outcome.withheld)
      spdlog::debug("next edit in {} at {}-{} withheld: {}", plan.sites[size_t(held.site)].path,
                    held.replacement.begin, held.replacement.end, held.withheld);
    for (const Candidate& candidate : outcome.candidates) {
      const PlanSite& site = plan.sites[size_t(candidate.site)];
      if (site.on_disk) {
        out.push_back({next_item_id++, candidate.replacement, uri_of_path(site.path), std::nullopt, site.doc});
        continue;
      }
      const std::shared_ptr<const Document>& where = site.doc ? open.by_path.at(site.path) : doc;
      out.push_back({next_item_id++, candidate.replacement, where->uri, where->version,
                     std::shared_ptr<const SourceDocument>(where, &where->source)});
    }
    if (!out.empty()) host.count_next_edit(ModelHost::NextEditEvent::Suggested);
    spdlog::info("next edits: {} `{}` -> `{}`: {} of {} sites suggested", next_edit_kind_name(plan.next_edit.kind),
                 plan.next_edit.old_name, plan.next_edit.new_name, out.size(), plan.sites.size());
    return out;
  }

  // The open documents other than `doc`, where its edit's sites may also be (not when the user
  // keeps open documents out of prompts: context.openDocuments false).
  struct OpenDocuments {
    std::vector<OpenDocument> sources;
    std::map<std::string, std::shared_ptr<const Document>> by_path;  // OpenDocument::path → snapshot
  };
  OpenDocuments open_documents_besides(const Document& doc) {
    OpenDocuments open;
    if (!server.config().context.open_documents) return open;
    for (const auto& [uri, version] : server.documents().versions()) {
      std::shared_ptr<const Document> snapshot = uri == doc.uri ? nullptr : server.documents().snapshot(uri);
      if (!snapshot) continue;
      std::string path = server.project().path_or_uri(uri);
      open.sources.push_back({path, std::shared_ptr<const SourceDocument>(snapshot, &snapshot->source), nullptr});
      open.by_path.emplace(std::move(path), std::move(snapshot));
    }
    return open;
  }

  // Fill or instruction edit of a range; returns the minimal edits of the best candidate.
  json rewrite(const Document& doc, ByteRange range, const std::string* instruction, const CancelToken& token) {
    Engine& engine = host.engine();
    auto guard = host.busy();
    const InfillSettings& settings = server.config().infill;
    ContextInputs context = context_for(doc);
    Plan plan = instruction ? plan_edit(ModelView::of(engine), doc.source, range, *instruction, settings, &context)
                            : plan_fill(ModelView::of(engine), doc.source, range, settings, &context);
    report_context(plan, engine.tokenizer());
    CompletionOutcome outcome = execute_plan(engine, doc.source, plan, cancel_check(token));
    const Candidate& best = best_candidate(outcome);
    return {{"edits", text_edits(doc, best.edits, server.encoding())}, {"version", doc.version}};
  }

  // Sends workspace/applyEdit (versioned documentChanges when the client announced them, else
  // changes) and answers the executeCommand request `id` with what the client answered; a
  // refusal is also shown to the user.
  void apply(const json& id, const Document& doc, const json& result, const std::string& what) {
    json edit;
    if (client_supports_document_changes(server.client_capabilities()))
      edit = {{"documentChanges",
               {{{"textDocument", {{"uri", doc.uri}, {"version", doc.version}}}, {"edits", result["edits"]}}}}};
    else
      edit = {{"changes", {{doc.uri, result["edits"]}}}};
    int version = doc.version;
    Server& s = server;
    server.send_request("workspace/applyEdit", {{"label", "maskfill: " + what}, {"edit", edit}},
                        [&s, id, what, version](const json& r, const std::optional<json>& e) {
                          bool applied = !e && r.is_object() && r.contains("applied") && r["applied"] == true;
                          std::string reason;
                          if (e && e->is_object() && e->contains("message") && (*e)["message"].is_string())
                            reason = (*e)["message"];
                          else if (r.is_object() && r.contains("failureReason") && r["failureReason"].is_string())
                            reason = r["failureReason"];
                          json answer = {{"applied", applied}, {"version", version}};
                          if (!applied) {
                            if (!reason.empty()) answer["failureReason"] = reason;
                            spdlog::info("{}: the client did not apply the edit ({})", what, reason);
                            s.show_message(2, "the editor did not apply the " + what + " edit" +
                                                  (reason.empty() ? "" : ": " + reason));
                          }
                          s.reply(id, answer);
                        });
  }
};

json code_actions(Server& server, const json& params) {
  JsonField fields = read_params(params);
  const std::string uri = fields.at("textDocument").at("uri").string();
  auto doc = snapshot_of(server, uri);
  const json& range = fields.at("range").json();
  auto only = fields.get("context") ? fields.at("context").get("only") : std::nullopt;
  if (only && only->size() > 0) {
    bool wanted = false;
    for (const JsonField& kind : only->items())
      if (kind.string() == "refactor" || kind.string() == "refactor.rewrite") wanted = true;
    if (!wanted) return json::array();
  }
  json arguments = {{{"uri", uri}, {"range", range}, {"version", doc->version}}};
  ByteRange bytes = range_to_offsets(doc->source.text(), fields.at("range"), server.encoding());
  json actions = json::array();
  // Offered on a selection, or when the user asked for code actions (not on every cursor move,
  // when clients ask automatically). Clients older than LSP 3.17 send no triggerKind and ask
  // only when the user does.
  const json& context = params.is_object() && params.contains("context") ? params["context"] : json();
  const json trigger = context.is_object() && context.contains("triggerKind") ? context["triggerKind"] : json();
  bool invoked = !trigger.is_number_integer() || trigger.get<int64_t>() == kCodeActionInvoked;
  if (bytes.end == bytes.begin && !invoked) return actions;
  if (bytes.end > bytes.begin)
    actions.push_back({{"title", "Fill selection with maskfill"},
                       {"kind", "refactor.rewrite"},
                       {"command", {{"title", "Fill selection with maskfill"}, {"command", kFillCommand}, {"arguments", arguments}}}});
  actions.push_back({{"title", "Edit with instruction…"},
                     {"kind", "refactor.rewrite"},
                     {"command", {{"title", "Edit with instruction…"}, {"command", kEditCommand}, {"arguments", arguments}}}});
  return actions;
}

}  // namespace

void register_features(Server& server) {
  auto features = std::make_shared<Features>(server);

  json capabilities = {
      {"codeActionProvider", {{"codeActionKinds", {"refactor.rewrite"}}}},
      {"executeCommandProvider", {{"commands", server_commands()}}},
  };
  server.add_capabilities(capabilities);
  server.on_initialize([features](const json&, json& capabilities) {
    if (features->host.static_inline_completion()) capabilities["inlineCompletionProvider"] = json::object();
  });

  server.on_notification("initialized", [&server, features](const json&) {
    spdlog::info("client initialized");
    server.project().set_index_enabled(server.config().workspace_index);
    if (!server.project().folders().empty()) watch_source_files(server);
    // Inline completion is advertised statically only to clients that cannot register it
    // dynamically; the others get it once the model is ready (see ModelHost).
    // Start loading now, so the first completion does not wait for it.
    server.post_to_worker([features](const CancelToken&) {
      try {
        features->host.engine();
      } catch (const std::exception&) {
        // Reported through maskfill/status and showMessage by the host.
      }
    });
  });
  server.on_config_change([&server, features](const Config& before, const Config& after) {
    if (before.workspace_index != after.workspace_index) server.project().set_index_enabled(after.workspace_index);
    if (before.same_model(after)) return;
    server.post_to_worker([features](const CancelToken&) {
      features->host.unload();
      try {
        features->host.engine();
      } catch (const std::exception&) {
      }
    });
  });

  server.on_request("maskfill/status", [&server, features](const json&, const json&) -> std::optional<json> {
    json status = features->host.status();
    IndexStats index = server.project().index_stats();
    status["index"] = {{"ready", index.ready}, {"files", index.files}, {"definitions", index.definitions}};
    return status;
  });

  server.on_request("textDocument/inlineCompletion", [&server, features](const json& id, const json& params) -> std::optional<json> {
    JsonField fields = read_params(params);
    const std::string uri = fields.at("textDocument").at("uri").string();
    auto doc = snapshot_of(server, uri);
    size_t cursor = to_offset(doc->source.text(), position_from_json(fields.at("position")), server.encoding());
    int64_t trigger_kind = fields.get("context") ? fields.at("context").integer_or("triggerKind", 2, 1, 2) : 2;
    Trigger trigger = trigger_kind == 1 ? Trigger::Invoked : Trigger::Automatic;
    const json no_items = {{"items", json::array()}};
    Config::InlineCompletion options = server.config().inline_completion;
    if (trigger == Trigger::Automatic && !options.enabled) return no_items;  // inlineCompletion.enabled off
    auto arrived = std::chrono::steady_clock::now();
    server.run_on_worker(id, "inlineCompletion", uri, [&server, features, doc, cursor, trigger, options, arrived, no_items](const CancelToken& token) {
      // Debounce automatic requests: a newer one arriving meanwhile supersedes this one.
      if (trigger == Trigger::Automatic)
        while (std::chrono::steady_clock::now() < arrived + std::chrono::milliseconds(options.debounce_ms)) {
          if (token.cancelled()) return no_items;  // answered by the reason (superseded: empty list)
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      // Typing moved on while this waited: the answer would be for text that no longer exists.
      if (server.documents().version(doc->uri) != doc->version) return no_items;
      return features->inline_completion(*doc, cursor, trigger, token);
    }, no_items);  // a superseded request answers an empty list; -32800 only when the client cancels
    return std::nullopt;
  });

  server.on_request("textDocument/codeAction", [&server](const json&, const json& params) -> std::optional<json> {
    return code_actions(server, params);
  });

  // Next-edit suggestions, in maskfill's shape and in the Copilot language server's
  // (textDocument/copilotInlineEdit), which existing Neovim renderers draw.
  auto next_edits_request = [&server, features](const json& id, const json& params, bool copilot_shape) {
    JsonField fields = read_params(params);
    const std::string uri = fields.at("textDocument").at("uri").string();
    auto doc = snapshot_of(server, uri);
    to_offset(doc->source.text(), position_from_json(fields.at("position")), server.encoding());  // validated
    const json nothing = {{"edits", json::array()}};
    if (!server.config().next_edit_enabled) return std::optional<json>(nothing);
    server.run_on_worker(id, "nextEdits", uri, [&server, features, doc, copilot_shape](const CancelToken& token) {
      json edits = json::array();
      for (const Features::NextEditAnswer& answer : features->next_edits(doc, token)) {
        // Copilot's shape names open documents only: its renderers cannot open a file.
        if (copilot_shape && !answer.version) continue;
        std::string_view text = answer.source->text();
        json range = range_to_json(text, {answer.edit.begin, answer.edit.end}, server.encoding());
        json text_document = {{"uri", answer.uri}, {"version", answer.version ? json(*answer.version) : json(nullptr)}};
        if (copilot_shape)
          edits.push_back({{"text", answer.edit.text}, {"range", range}, {"textDocument", text_document},
                           {"command", {{"title", "maskfill: next edit accepted"}, {"command", kAcceptNextEditCommand},
                                        {"arguments", {std::to_string(answer.id)}}}}});
        else
          edits.push_back({{"range", range}, {"newText", answer.edit.text}, {"id", std::to_string(answer.id)},
                           {"textDocument", text_document},
                           // What the range holds in the text the server read: a client that opens
                           // the file draws the edit only if it still does.
                           {"oldText", text.substr(answer.edit.begin, answer.edit.end - answer.edit.begin)}});
      }
      return json{{"edits", edits}, {"version", doc->version}};
    }, nothing);  // superseded by a newer request: no edits
    return std::optional<json>();
  };
  server.on_request("maskfill/nextEdits", [next_edits_request](const json& id, const json& params) {
    return next_edits_request(id, params, false);
  });
  server.on_request("textDocument/copilotInlineEdit", [next_edits_request](const json& id, const json& params) {
    return next_edits_request(id, params, true);
  });
  server.on_notification("textDocument/didShowInlineEdit", [features](const json&) {
    features->host.count_next_edit(ModelHost::NextEditEvent::Shown);
  });
  server.on_notification("maskfill/didShowNextEdit", [features](const json&) {
    features->host.count_next_edit(ModelHost::NextEditEvent::Shown);
  });
  server.on_notification("maskfill/didRejectNextEdit", [features](const json& params) {
    features->host.count_next_edit(ModelHost::NextEditEvent::Rejected);
    spdlog::info("next edit rejected: {}", params.dump());
  });

  auto rewrite_request = [&server, features](const json& id, const json& params, bool edit) {
    JsonField fields = read_params(params);
    const std::string uri = fields.at("textDocument").at("uri").string();
    auto doc = snapshot_of(server, uri);
    ByteRange range = range_to_offsets(doc->source.text(), fields.at("range"), server.encoding());
    std::string instruction = edit ? fields.at("instruction").string() : "";
    server.run_on_worker(id, "", uri, [features, doc, range, edit, instruction](const CancelToken& token) {
      return features->rewrite(*doc, range, edit ? &instruction : nullptr, token);
    });
    return std::optional<json>();
  };
  server.on_request("maskfill/fill", [rewrite_request](const json& id, const json& params) {
    return rewrite_request(id, params, false);
  });
  server.on_request("maskfill/edit", [rewrite_request](const json& id, const json& params) {
    return rewrite_request(id, params, true);
  });

  server.on_request("workspace/executeCommand", [&server, features](const json& id, const json& params) -> std::optional<json> {
    JsonField fields = read_params(params);
    const std::string command = fields.at("command").string();
    const json arguments = fields.has("arguments") ? fields.at("arguments").require_array().json() : json::array();
    if (command == kAcceptCommand) {
      features->host.count_acceptance();
      spdlog::info("completion accepted: {}", arguments.dump());
      return json(nullptr);
    }
    if (command == kAcceptNextEditCommand) {
      features->host.count_next_edit(ModelHost::NextEditEvent::Accepted);
      spdlog::info("next edit accepted: {}", arguments.dump());
      return json(nullptr);
    }
    if (command == kReloadCommand) {
      server.run_on_worker(id, "", "", [features](const CancelToken&) -> std::optional<json> {
        features->host.reload();
        return features->host.status();
      });
      return std::nullopt;
    }
    if (command != kFillCommand && command != kApplyInstructionCommand && command != kEditCommand)
      throw LspError(ErrorCode::InvalidParams, "unknown command " + command);
    if (!arguments.is_array() || arguments.empty() || !arguments[0].is_object())
      throw LspError(ErrorCode::InvalidParams, command + " needs one argument {uri, range, version}");
    JsonField args = fields.at("arguments").items()[0];
    const std::string uri = args.at("uri").string();
    auto doc = snapshot_of(server, uri);
    json expected_version = args.has("version") ? json(args.at("version").integer(INT32_MIN, INT32_MAX)) : json();
    require_version(server, *doc, expected_version);
    ByteRange range = range_to_offsets(doc->source.text(), args.at("range"), server.encoding());
    bool edit = command != kFillCommand;
    if (edit && !args.has("instruction"))
      throw LspError(ErrorCode::InvalidParams,
                     command + " needs the instruction: this client did not ask for one, so pass it as "
                               "\"instruction\" in the argument {uri, range, version, instruction}");
    std::string instruction = edit ? args.at("instruction").string() : "";
    if (edit && instruction.find_first_not_of(" \t\r\n") == std::string::npos)
      throw LspError(ErrorCode::InvalidParams, "the instruction is empty");
    server.run_on_worker(id, "", uri, [&server, features, id, doc, range, edit, instruction, expected_version](const CancelToken& token) -> std::optional<json> {
      json result = features->rewrite(*doc, range, edit ? &instruction : nullptr, token);
      require_version(server, *doc, expected_version);  // typing during decoding: do not apply
      features->apply(id, *doc, result, edit ? "edit with instruction" : "fill selection");
      return std::nullopt;  // answered once the client answered workspace/applyEdit
    });
    return std::nullopt;
  });
}

}  // namespace maskfill::lsp
