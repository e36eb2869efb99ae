-- Options of the maskfill plugin: defaults, validation, and the LSP initializationOptions.
local M = {}

M.defaults = {
  server_path = 'maskfill', -- binary; a bare name is looked up on $PATH
  cmd = nil, -- full command override, e.g. { '/opt/maskfill', 'lsp' }
  model_path = nil, -- nil: the server's default (bundled model or $MASKFILL_MODEL_DIR)
  device = 'auto',
  dtype = 'auto',
  backend = { -- a shared model server (`maskfill serve`): only decoding runs there
    url = '', -- e.g. 'http://gpu-box:8080'; '' runs the model locally
    api_key_file = '', -- '' uses $MASKFILL_API_KEY of the server process, if set
  },
  context = { -- cross-file context in prompts
    max_tokens = 1024, -- 0: the prompt is the file's window only
    workspace_index = true, -- index the workspace's definitions in the background
  },
  -- The project root (the workspace folder the server indexes) is the nearest folder above the
  -- file that holds one of these.
  root_markers = { '.git', '.hg', '.svn', '.jj' },
  filetypes = { 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'c', 'cpp', 'go', 'rust', 'java' },
  inline_completion = {
    enabled = true,
    debounce_ms = 150, -- client-side wait after the last keystroke before asking
    native = true, -- use vim.lsp.inline_completion when Neovim has it (0.12+)
  },
  next_edit = { -- after an edit, the other places it implies (maskfill/nextEdits), see nextedit.lua
    enabled = true, -- false: never asks, draws or reports anything, and the server keeps no history
    debounce_ms = 300, -- wait after the last change (outside insert mode) before asking
    min_confidence = 0.5, -- a site is drawn only when each of its tokens reaches this confidence
  },
  keymaps = { -- insert mode, buffer-local; false disables one
    accept = '<Tab>',
    accept_word = '<C-Right>', -- the next word of the suggestion (as VS Code's ctrl+right)
    accept_line = '<C-Down>', -- the next line of the suggestion
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
    -- Normal mode, mapped only while next-edit suggestions are shown (so they never shadow
    -- a key otherwise): jump to the next suggested site; on a site, apply it. And dismiss all.
    next_edit = '<Tab>',
    next_edit_dismiss = '<Esc>',
  },
}

M.options = vim.deepcopy(M.defaults)

function M.setup(opts)
  local merged = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  vim.validate({
    server_path = { merged.server_path, 'string' },
    cmd = { merged.cmd, 'table', true },
    model_path = { merged.model_path, 'string', true },
    device = { merged.device, 'string' },
    dtype = { merged.dtype, 'string' },
    filetypes = { merged.filetypes, 'table' },
    root_markers = { merged.root_markers, 'table' },
    backend_url = { merged.backend.url, 'string' },
    backend_api_key_file = { merged.backend.api_key_file, 'string' },
    debounce_ms = { merged.inline_completion.debounce_ms, 'number' },
    context_max_tokens = { merged.context.max_tokens, 'number' },
    context_workspace_index = { merged.context.workspace_index, 'boolean' },
    next_edit_enabled = { merged.next_edit.enabled, 'boolean' },
    next_edit_debounce_ms = { merged.next_edit.debounce_ms, 'number' },
    next_edit_min_confidence = { merged.next_edit.min_confidence, 'number' },
  })
  merged.context.max_tokens = math.min(8192, math.max(0, math.floor(merged.context.max_tokens)))
  merged.inline_completion.debounce_ms = math.max(0, math.floor(merged.inline_completion.debounce_ms))
  merged.next_edit.debounce_ms = math.max(0, math.floor(merged.next_edit.debounce_ms))
  merged.next_edit.min_confidence = math.min(1, math.max(0, merged.next_edit.min_confidence))
  M.options = merged
  return merged
end

function M.cmd()
  return M.options.cmd or { M.options.server_path, 'lsp' }
end

-- What the server reads from `initialize`. Neovim debounces on its side (timer in ghost.lua), so the
-- server is asked not to wait again.
function M.init_options()
  local o = M.options
  return {
    modelPath = o.model_path,
    device = o.device,
    dtype = o.dtype,
    inlineCompletion = { enabled = o.inline_completion.enabled, debounceMs = 0 },
    backend = { url = o.backend.url, apiKeyFile = o.backend.api_key_file },
    context = { maxTokens = o.context.max_tokens, workspaceIndex = o.context.workspace_index },
    -- Off client-side is off server-side too: the server then keeps no edit history.
    nextEdit = { enabled = o.next_edit.enabled, minConfidence = o.next_edit.min_confidence },
  }
end

return M
