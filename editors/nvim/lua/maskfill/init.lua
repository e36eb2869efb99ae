-- maskfill for Neovim: starts `maskfill lsp`, attaches it to buffers of supported filetypes,
-- tracks the model status and wires inline completion (ghost.lua), next-edit suggestions
-- (nextedit.lua) and commands (commands.lua).
local config = require('maskfill.config')
local compat = require('maskfill.compat').new()

local M = {}

M.client_id = nil
M.status = { state = 'loading', message = 'starting maskfill lsp' }
local inline_registrations = {} -- registration id → true, from client/registerCapability
local is_setup = false
local augroup = vim.api.nvim_create_augroup('maskfill', { clear = true })

local function set_status(status)
  if type(status) ~= 'table' or type(status.state) ~= 'string' then
    status = { state = 'error', message = 'malformed maskfill/status: ' .. vim.inspect(status) }
  end
  M.status = status
  vim.api.nvim_exec_autocmds('User', { pattern = 'MaskfillStatus', modeline = false })
end

-- The maskfill client serving `bufnr` (vim.lsp.enable may start one per project root), else
-- the latest one started.
function M.client(bufnr)
  if bufnr and vim.lsp.get_clients then
    local attached = vim.lsp.get_clients({ bufnr = bufnr, name = 'maskfill' })
    if attached[1] and not compat.is_stopped(attached[1]) then return attached[1] end
  end
  if not M.client_id then return nil end
  local client = vim.lsp.get_client_by_id(M.client_id)
  if not client or compat.is_stopped(client) then return nil end
  return client
end

-- True when the server offers textDocument/inlineCompletion (statically or registered).
function M.inline_available(bufnr)
  local client = M.client(bufnr)
  if not client or not client.server_capabilities then return false end
  return client.server_capabilities.inlineCompletionProvider ~= nil and client.server_capabilities.inlineCompletionProvider ~= false
    or next(inline_registrations) ~= nil
end

-- Registrations are recorded and then passed on to Neovim's own handlers: on 0.12 those make
-- the client (and so vim.lsp.inline_completion) learn about the dynamic registration.
local handlers = {
  ['maskfill/status'] = function(_, result) set_status(result) end,
  ['client/registerCapability'] = compat.chain_handler('client/registerCapability', function(_, params)
    for _, reg in ipairs((params or {}).registrations or {}) do
      if reg.method == 'textDocument/inlineCompletion' then inline_registrations[reg.id] = true end
    end
  end),
  ['client/unregisterCapability'] = compat.chain_handler('client/unregisterCapability', function(_, params)
    -- The field is misspelled "unregisterations" in the LSP spec itself.
    for _, reg in ipairs((params or {}).unregisterations or (params or {}).unregistrations or {}) do
      inline_registrations[reg.id] = nil
    end
  end),
}
M.handlers = handlers

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument.inlineCompletion = { dynamicRegistration = true }
  caps.workspace.workspaceEdit = vim.tbl_extend('force', caps.workspace.workspaceEdit or {}, { documentChanges = true })
  return caps
end

-- The client configuration (also what lsp/maskfill.lua returns for vim.lsp.config on 0.11+,
-- where vim.lsp.enable finds the root from `root_markers`). With `bufnr` (setup()'s path) the
-- root is found here: the nearest folder above the buffer's file that holds a marker.
function M.lsp_config(bufnr)
  return {
    name = 'maskfill',
    cmd = config.cmd(),
    filetypes = config.options.filetypes,
    root_markers = config.options.root_markers,
    root_dir = bufnr and compat.root_dir(bufnr, config.options.root_markers) or nil,
    init_options = config.init_options(),
    capabilities = capabilities(),
    handlers = handlers,
    flags = { debounce_text_changes = 50 },
    on_init = function(client)
      M.client_id = client.id
      compat.request(client, 'maskfill/status', {}, function(err, result)
        if err then set_status({ state = 'error', message = 'maskfill/status failed: ' .. tostring(err.message) })
        else set_status(result) end
      end)
    end,
    -- Buffers attached by vim.lsp.enable('maskfill') (0.11+) get ghost text and next edits too.
    on_attach = function(client, bufnr)
      M.client_id = client.id
      require('maskfill.ghost').attach(bufnr)
      require('maskfill.nextedit').attach(bufnr)
    end,
    on_exit = function(code, signal)
      M.client_id = nil
      inline_registrations = {}
      if code ~= 0 then
        set_status({ state = 'error', message = ('maskfill lsp exited (code %d, signal %d)'):format(code, signal) })
      end
    end,
  }
end

-- Starts the client if needed and attaches it to `bufnr`: vim.lsp.config + vim.lsp.start on
-- 0.11+, vim.lsp.start on 0.8+, vim.lsp.start_client on 0.7 (see compat.lua).
-- One server serves every buffer on this path: the root is the first buffer's project.
function M.start(bufnr)
  local running = M.client()
  if running then
    if bufnr and not vim.lsp.buf_is_attached(bufnr, running.id) then vim.lsp.buf_attach_client(bufnr, running.id) end
    return running.id
  end
  if not running then inline_registrations = {} end
  local cmd = config.cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    set_status({ state = 'error', message = ('server binary not found: %s'):format(cmd[1]) })
    return nil
  end
  if not running then M.status = { state = 'loading', message = 'starting maskfill lsp' } end
  M.client_id = compat.start(M.lsp_config(bufnr or vim.api.nvim_get_current_buf()), bufnr)
  return M.client_id
end

function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= '' then return false end
  local id = M.start(bufnr)
  if not id then return false end
  require('maskfill.ghost').attach(bufnr)
  require('maskfill.nextedit').attach(bufnr)
  return true
end

function M.stop()
  local client = M.client()
  if client then compat.stop(client) end
  M.client_id = nil
end

-- For a statusline: "maskfill: ready" etc.; with a remote backend "maskfill remote: URL".
function M.statusline()
  local name = 'maskfill'
  local remote = type(M.status.model) == 'string' and M.status.model:match('^remote: (%S+)')
  if remote then name = 'maskfill remote: ' .. remote end
  if M.status.state == 'ready' then return name end
  return name .. ': ' .. M.status.state
end

function M.is_setup() return is_setup end

function M.setup(opts)
  config.setup(opts)
  -- Called again while the server runs: the new settings go to it (budgets and debounce apply
  -- at once, a new model path or device reloads the model); a new command needs :LspRestart.
  local running = M.client()
  if running then
    compat.call(running, 'notify', 'workspace/didChangeConfiguration', { settings = { maskfill = config.init_options() } })
  end
  is_setup = true
  require('maskfill.commands').register()
  vim.api.nvim_clear_autocmds({ group = augroup })
  vim.api.nvim_create_autocmd('FileType', {
    group = augroup,
    pattern = config.options.filetypes,
    callback = function(args) M.attach(args.buf) end,
  })
  -- Buffers already open when setup() runs.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.options.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
