-- :MaskfillFill, :MaskfillEdit, :MaskfillNextEdit[Dismiss], :MaskfillStatus and the client side of the
-- `maskfill.editWithInstruction` code-action command.
local util = require('maskfill.util')
local compat = require('maskfill.compat').new()

local M = {}

local function client_or_warn()
  local c = require('maskfill').client(vim.api.nvim_get_current_buf())
  if not c then util.notify('the server is not running (see :checkhealth maskfill)', vim.log.levels.ERROR) end
  return c
end

-- maskfill/fill, then apply the returned edits if the buffer is still at the version they are for.
function M.fill(bufnr, range, on_done)
  local c = client_or_warn()
  if not c then return false end
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, range = range }
  compat.request(c, 'maskfill/fill', params, function(err, result)
    local ok, message = false, nil
    if err then message = 'fill failed: ' .. tostring(err.message)
    elseif type(result) ~= 'table' or type(result.edits) ~= 'table' then message = 'malformed maskfill/fill result: ' .. vim.inspect(result)
    elseif result.version ~= vim.lsp.util.buf_versions[bufnr] then
      message = ('the buffer changed while filling (version %s → %s); nothing applied'):format(tostring(result.version), tostring(vim.lsp.util.buf_versions[bufnr]))
    else
      vim.lsp.util.apply_text_edits(result.edits, bufnr, c.offset_encoding or 'utf-16')
      ok = true
    end
    if message then util.notify(message, vim.log.levels.WARN) end
    if on_done then on_done(ok, message) end
  end, bufnr)
  return true
end

-- workspace/executeCommand maskfill.applyInstruction; the server answers with a versioned
-- workspace/applyEdit, which Neovim's default handler applies (or rejects if the buffer moved on).
function M.apply_instruction(target, instruction, on_done)
  local c = client_or_warn()
  if not c then return false end
  local bufnr = vim.uri_to_bufnr(target.uri)
  local params = { command = 'maskfill.applyInstruction', arguments = { {
    uri = target.uri, range = target.range, version = target.version, instruction = instruction,
  } } }
  compat.request(c, 'workspace/executeCommand', params, function(err)
    if err then util.notify('edit failed: ' .. tostring(err.message), vim.log.levels.WARN) end
    if on_done then on_done(err == nil, err and err.message) end
  end, bufnr)
  return true
end

local function prompt_instruction(target, instruction, on_done)
  if instruction and instruction:match('%S') then return M.apply_instruction(target, vim.trim(instruction), on_done) end
  vim.ui.input({ prompt = 'maskfill instruction: ' }, function(input)
    if input and input:match('%S') then M.apply_instruction(target, vim.trim(input), on_done)
    elseif on_done then on_done(false, 'cancelled') end
  end)
  return true
end

function M.edit(bufnr, range, instruction, on_done)
  local target = { uri = vim.uri_from_bufnr(bufnr), range = range, version = vim.lsp.util.buf_versions[bufnr] or 0 }
  return prompt_instruction(target, instruction, on_done)
end

-- The code action "Edit with instruction…" carries [{uri, range, version}]; the prompt is ours.
function M.edit_with_instruction_command(command)
  local target = command.arguments and command.arguments[1]
  if type(target) ~= 'table' or type(target.uri) ~= 'string' or type(target.range) ~= 'table' then
    util.notify('maskfill.editWithInstruction: bad arguments ' .. vim.inspect(command.arguments), vim.log.levels.ERROR)
    return
  end
  prompt_instruction(target, nil)
end

local function command_range(opts)
  local c = client_or_warn()
  if not c then return nil end
  return util.command_range(vim.api.nvim_get_current_buf(), opts, c.offset_encoding or 'utf-16')
end

function M.register()
  vim.lsp.commands['maskfill.editWithInstruction'] = M.edit_with_instruction_command
  vim.api.nvim_create_user_command('MaskfillFill', function(opts)
    local range = command_range(opts)
    if range then M.fill(vim.api.nvim_get_current_buf(), range) end
  end, { range = true, desc = 'maskfill: fill the selected lines or visual selection' })
  vim.api.nvim_create_user_command('MaskfillEdit', function(opts)
    local range = command_range(opts)
    if range then M.edit(vim.api.nvim_get_current_buf(), range, opts.args ~= '' and opts.args or nil) end
  end, { range = true, nargs = '*', desc = 'maskfill: rewrite the selection following an instruction' })
  vim.api.nvim_create_user_command('MaskfillNextEdit', function()
    if not require('maskfill.nextedit').jump_or_apply(vim.api.nvim_get_current_buf()) then util.notify('no next-edit suggestion shown') end
  end, { desc = 'maskfill: jump to the next suggested edit; on one, apply it' })
  vim.api.nvim_create_user_command('MaskfillNextEditDismiss', function()
    require('maskfill.nextedit').dismiss(vim.api.nvim_get_current_buf())
  end, { desc = 'maskfill: dismiss the next-edit suggestions' })
  vim.api.nvim_create_user_command('MaskfillStatus', function()
    local s = require('maskfill').status
    util.notify(s.state .. (s.model and (' (' .. s.model .. ')') or '') .. (s.message and (': ' .. s.message) or ''))
  end, { desc = 'maskfill: show the server and model status' })
end

return M
