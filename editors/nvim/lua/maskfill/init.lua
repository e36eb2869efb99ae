-- maskfill for Neovim: starts `maskfill lsp`, attaches it to buffers of supported filetypes,
-- tracks the model status and wires inline completion (ghost.lua) and commands (commands.lua).
local config = require('maskfill.config')

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

function M.client()
  if not M.client_id then return nil end
  local client = vim.lsp.get_client_by_id(M.client_id)
  if not client or client.is_stopped() then return nil end
  return client
end

-- True when the server offers textDocument/inlineCompletion (statically or registered).
function M.inline_available()
  local client = M.client()
  if not client or not client.server_capabilities then return false end
  return client.server_capabilities.inlineCompletionProvider ~= nil and client.server_capabilities.inlineCompletionProvider ~= false
    or next(inline_registrations) ~= nil
end

local handlers = {
  ['maskfill/status'] = function(_, result) set_status(result) end,
  ['client/registerCapability'] = function(_, params)
    for _, reg in ipairs(params.registrations or {}) do
      if reg.method == 'textDocument/inlineCompletion' then inline_registrations[reg.id] = true end
    end
    return vim.NIL
  end,
  ['client/unregisterCapability'] = function(_, params)
    -- The field is misspelled "unregisterations" in the LSP spec itself.
    for _, reg in ipairs(params.unregisterations or params.unregistrations or {}) do
      inline_registrations[reg.id] = nil
    end
    return vim.NIL
  end,
  ['window/workDoneProgress/create'] = function() return vim.NIL end,
}

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument.inlineCompletion = { dynamicRegistration = true }
  caps.workspace.workspaceEdit = vim.tbl_extend('force', caps.workspace.workspaceEdit or {}, { documentChanges = true })
  return caps
end

function M.start()
  if M.client() then return M.client_id end
  inline_registrations = {}
  local cmd = config.cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    set_status({ state = 'error', message = ('server binary not found: %s'):format(cmd[1]) })
    return nil
  end
  M.status = { state = 'loading', message = 'starting maskfill lsp' }
  M.client_id = vim.lsp.start_client({
    name = 'maskfill',
    cmd = cmd,
    root_dir = vim.loop.cwd(),
    init_options = config.init_options(),
    capabilities = capabilities(),
    handlers = handlers,
    flags = { debounce_text_changes = 50 },
    on_init = function(client)
      client.request('maskfill/status', {}, function(err, result)
        if err then set_status({ state = 'error', message = 'maskfill/status failed: ' .. tostring(err.message) })
        else set_status(result) end
      end)
    end,
    on_exit = function(code, signal)
      M.client_id = nil
      inline_registrations = {}
      if code ~= 0 then
        set_status({ state = 'error', message = ('maskfill lsp exited (code %d, signal %d)'):format(code, signal) })
      end
    end,
  })
  return M.client_id
end

function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= '' then return false end
  local id = M.start()
  if not id then return false end
  if not vim.lsp.buf_is_attached(bufnr, id) then vim.lsp.buf_attach_client(bufnr, id) end
  require('maskfill.ghost').attach(bufnr)
  return true
end

function M.stop()
  local client = M.client()
  if client then client.stop() end
  M.client_id = nil
end

-- For a statusline: "maskfill: ready" etc.
function M.statusline()
  if M.status.state == 'ready' then return 'maskfill' end
  return 'maskfill: ' .. M.status.state
end

function M.is_setup() return is_setup end

function M.setup(opts)
  config.setup(opts)
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
