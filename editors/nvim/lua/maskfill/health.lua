-- :checkhealth maskfill: binary found, server starts, model status.
local config = require('maskfill.config')
local compat = require('maskfill.compat').new()

local M = {}

local health = vim.health and vim.health.start and vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

-- The command the client runs: the running client's, else vim.lsp.config's (0.11+, for users
-- who only call vim.lsp.enable), else the plugin's options.
local function server_cmd()
  local client = require('maskfill').client(vim.api.nvim_get_current_buf())
  if client and type(client.config.cmd) == 'table' then return client.config.cmd end
  local ok_config, resolved = pcall(function() return vim.lsp.config and vim.lsp.config.maskfill end)
  if ok_config and type(resolved) == 'table' and type(resolved.cmd) == 'table' then return resolved.cmd end
  return config.cmd()
end

-- Asks a running client, or starts a throw-away one, for maskfill/status.
local function query_status()
  local maskfill = require('maskfill')
  local client, temporary = maskfill.client(), false
  if not client then
    local id = compat.start_detached({ name = 'maskfill-health', cmd = server_cmd(), init_options = config.init_options() })
    client = id and vim.lsp.get_client_by_id(id)
    temporary = true
    if not client then return nil, 'could not start a client (vim.lsp.start / start_client failed)' end
  end
  local started = vim.wait(10000, function() return client.initialized or compat.is_stopped(client) end, 50)
  if not started or compat.is_stopped(client) then return nil, 'the server did not answer initialize within 10 s' end
  ok('server starts and answers initialize')
  local result, err
  local deadline = compat.uv.now() + 60000
  repeat -- give a loading model some time
    local response
    response, err = compat.request_sync(client, 'maskfill/status', {}, 5000)
    result = response and response.result
    err = err or (response and response.err and response.err.message)
  until err or not result or result.state ~= 'loading' or compat.uv.now() > deadline or not vim.wait(500, function() return false end)
  if temporary then compat.stop(client) end
  return result, err
end

function M.check()
  start('maskfill')
  local cmd = server_cmd()
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    error(('server binary "%s" not found'):format(cmd[1]),
      { "put maskfill on $PATH, or set server_path in setup() or cmd in vim.lsp.config('maskfill', ...)" })
    return
  end
  ok('server binary: ' .. path)
  local version = vim.fn.system({ path, '--version' })
  if vim.v.shell_error == 0 then info(vim.trim(version)) end
  info(compat.native_inline(config.options.inline_completion) and 'ghost text: native vim.lsp.inline_completion' or 'ghost text: maskfill extmarks')
  local status, err = query_status()
  if not status then
    error('maskfill/status: ' .. tostring(err))
    return
  end
  local detail = (status.model and (' — ' .. status.model) or '') .. (status.message and (': ' .. status.message) or '')
  if status.state == 'ready' or status.state == 'busy' then ok('model ' .. status.state .. detail)
  elseif status.state == 'loading' then warn('model still loading' .. detail)
  else error('model ' .. tostring(status.state) .. detail, { 'set model_path in setup() or MASKFILL_MODEL_DIR' }) end
end

return M
