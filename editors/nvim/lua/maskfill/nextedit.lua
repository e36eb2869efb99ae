-- Next-edit suggestions (maskfill/nextEdits): after an edit, the other places it implies (a
-- renamed variable's other uses, the calls of a function whose parameters changed), each drawn
-- with extmarks as the old text struck through and the new text beside it. Sites in other
-- loaded buffers (the server names their uri) are drawn there too, and in workspace files not
-- yet open (version null), each loaded into a hidden buffer to draw them; the buffers of one answer
-- form a group that is dismissed together, and the jump key goes on to the next buffer of the
-- group once the current one has no site after the cursor.
--
-- Asked once the buffer settles outside insert mode (TextChanged / InsertLeave, debounced):
-- a half-typed name is not an edit worth following. Typing in insert mode only drops what is
-- shown. An answer for an older buffer (changedtick moved on) is dropped.
-- While suggestions are shown, normal-mode keys (config keymaps.next_edit / next_edit_dismiss)
-- jump to the next site, apply the site under the cursor (one nvim_buf_set_text, its own undo
-- step) or dismiss everything. Feedback goes to the server: maskfill/didShowNextEdit when drawn,
-- maskfill.didAcceptNextEdit (executeCommand) when applied, maskfill/didRejectNextEdit when
-- dismissed, the buffer left or changed by the user.
local config = require('maskfill.config')
local util = require('maskfill.util')
local compat = require('maskfill.compat').new()

local M = {}

M.ns = vim.api.nvim_create_namespace('maskfill_next_edit')
local REQUEST_CANCELLED = -32800
local has_inline_virt_text = vim.fn.has('nvim-0.10') == 1

-- Attributes, not a link: the strike combines with the text's own syntax colours.
vim.api.nvim_set_hl(0, 'MaskfillNextEditDelete', { strikethrough = true, default = true })
vim.api.nvim_set_hl(0, 'MaskfillNextEditInsert', { link = 'DiffAdd', default = true })

-- bufnr → { timer, request_id, asked_tick (the changedtick asked about or made by us),
--           shown_tick (the changedtick the sites are for), sites = { {id, mark, old, new} },
--           mapped = { key → true }, answers (count of answers received, for tests),
--           group (the buffers of the answer that drew these sites, the asking one first) }
local states = {}
local jumping = false -- the jump key is switching buffers: leaving one keeps its sites

local function state(bufnr)
  states[bufnr] = states[bufnr] or { sites = {}, mapped = {}, answers = 0 }
  return states[bufnr]
end
M.state = state

local function client(bufnr) return require('maskfill').client(bufnr) end
local function enabled() return config.options.next_edit.enabled ~= false end
local function tick(bufnr) return vim.api.nvim_buf_get_changedtick(bufnr) end

local function notify_server(bufnr, method, params)
  local c = client(bufnr)
  if c then compat.call(c, 'notify', method, params) end
end

-- The text between two byte positions, lines joined with "\n".
local function text_between(bufnr, row, col, end_row, end_col)
  local ok, lines = pcall(vim.api.nvim_buf_get_text, bufnr, row, col, end_row, end_col, {})
  return ok and table.concat(lines, '\n') or nil
end

-- The shown sites with their current positions (extmarks follow earlier applies and edits),
-- in buffer order.
function M.sites(bufnr)
  local out = {}
  for _, site in ipairs(state(bufnr).sites) do
    local pos = vim.api.nvim_buf_get_extmark_by_id(bufnr, M.ns, site.mark, { details = true })
    if pos[1] then
      local details = pos[3] or {}
      table.insert(out, vim.tbl_extend('force', site, {
        row = pos[1], col = pos[2], end_row = details.end_row or pos[1], end_col = details.end_col or pos[2],
      }))
    end
  end
  table.sort(out, function(a, b) return a.row < b.row or (a.row == b.row and a.col < b.col) end)
  return out
end

local function unmap(bufnr)
  local st = state(bufnr)
  for key in pairs(st.mapped) do pcall(vim.keymap.del, 'n', key, { buffer = bufnr }) end
  st.mapped = {}
end

-- Drops every site without telling the server (callers report what needs reporting).
local function clear(bufnr)
  local st = state(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1) end
  st.sites = {}
  unmap(bufnr)
end

function M.cancel(bufnr)
  util.stop_pending(state(bufnr), client(bufnr))
end

-- Clears every shown site of the buffer and of the other buffers of its answer, and reports
-- each as rejected. True when something was shown.
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  M.cancel(bufnr)
  local dismissed = 0
  for _, b in ipairs(state(bufnr).group or { bufnr }) do
    local st = states[b]
    local shown = st and st.sites or {}
    if st then
      clear(b)
      st.group = nil
    end
    for _, site in ipairs(shown) do notify_server(bufnr, 'maskfill/didRejectNextEdit', { id = site.id }) end
    dismissed = dismissed + #shown
  end
  return dismissed > 0
end

-- Normal-mode keys, buffer-local and only while sites are shown. A key the buffer already maps
-- itself is left alone (the commands :MaskfillNextEdit and :MaskfillNextEditDismiss still work).
local function map(bufnr)
  local st = state(bufnr)
  local actions = {
    next_edit = function() M.jump_or_apply(bufnr) end,
    next_edit_dismiss = function() M.dismiss(bufnr) end,
  }
  for name, action in pairs(actions) do
    local key = config.options.keymaps[name]
    -- maparg reads the current buffer's maps: ask in `bufnr`, which may be another one.
    local own = key and vim.api.nvim_buf_call(bufnr, function() return vim.fn.maparg(key, 'n', false, true).buffer == 1 end)
    if key and not st.mapped[key] and not own then
      vim.keymap.set('n', key, action, { buffer = bufnr, desc = 'maskfill: ' .. name })
      st.mapped[key] = true
    end
  end
end

-- Two marks per site: `mark` spans the old text (struck through) and is where the site is
-- read back from; `text_mark` shows the new text (inline right after the old text on 0.10+,
-- at the end of the line before, which has no inline virtual text).
local function draw(bufnr, row, col, end_row, end_col, new)
  local shown = new:gsub('\n', '⏎')
  local mark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, row, col, { end_row = end_row, end_col = end_col, hl_group = 'MaskfillNextEditDelete' })
  local opts = { virt_text = { { shown, 'MaskfillNextEditInsert' } }, virt_text_pos = 'inline', right_gravity = false }
  if not has_inline_virt_text then opts = { virt_text = { { ' → ' .. shown, 'MaskfillNextEditInsert' } }, virt_text_pos = 'eol' } end
  return mark, vim.api.nvim_buf_set_extmark(bufnr, M.ns, end_row, end_col, opts)
end

-- Forgets one site: its marks go, and it leaves the list.
local function drop(bufnr, site)
  local st = state(bufnr)
  vim.api.nvim_buf_del_extmark(bufnr, M.ns, site.mark)
  vim.api.nvim_buf_del_extmark(bufnr, M.ns, site.text_mark)
  for i, s in ipairs(st.sites) do
    if s.mark == site.mark then table.remove(st.sites, i) break end
  end
end

-- Draws `edits` ({range, newText, id}, LSP positions in `encoding`) for the buffer as it is now,
-- replacing what was shown, and reports each drawn one. Returns how many were drawn.
function M.show(bufnr, edits, encoding)
  local st = state(bufnr)
  clear(bufnr)
  for _, edit in ipairs(edits or {}) do
    local ok = type(edit) == 'table' and type(edit.range) == 'table' and type(edit.newText) == 'string' and edit.id ~= nil
    if ok then
      local row, col = util.byte_position(bufnr, edit.range.start, encoding)
      local end_row, end_col = util.byte_position(bufnr, edit.range['end'], encoding)
      local old = text_between(bufnr, row, col, end_row, end_col)
      if old and old ~= edit.newText then
        local mark, text_mark = draw(bufnr, row, col, end_row, end_col, edit.newText)
        table.insert(st.sites, { id = tostring(edit.id), mark = mark, text_mark = text_mark, old = old, new = edit.newText })
      end
    end
  end
  st.shown_tick = tick(bufnr)
  if #st.sites > 0 then map(bufnr) end
  for _, site in ipairs(st.sites) do notify_server(bufnr, 'maskfill/didShowNextEdit', { id = site.id }) end
  return #st.sites
end

-- The loaded buffer whose uri is `uri`, without creating one (vim.uri_to_bufnr would).
local function loaded_buffer(uri)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.uri_from_bufnr(b) == uri then return b end
  end
end

-- The buffer for an edit in a file the editor had not opened (textDocument.version null): the
-- server read it from disk and oldText is what the range held there. A buffer of the uri loaded
-- since is used as it is; else the file is loaded into a hidden buffer (recorded in `created`:
-- true when bufadd made it, false when it existed unloaded; a buffer found loaded under another
-- spelling of the uri is the user's, not recorded). Either way the edit is kept only while the
-- range still holds oldText: the file or buffer may have changed since the server read it.
local function disk_buffer(uri, edit, encoding, created)
  local b = loaded_buffer(uri)
  if not b then
    local ok, fname = pcall(vim.uri_to_fname, uri)
    if not ok or vim.fn.filereadable(fname) ~= 1 then return nil end
    local new, loaded = vim.fn.bufexists(fname) == 0, vim.fn.bufloaded(fname) == 1
    ok, b = pcall(function()
      local nb = vim.fn.bufadd(fname)
      vim.fn.bufload(nb)
      return nb
    end)
    if not ok or not vim.api.nvim_buf_is_loaded(b) then return nil end
    if not loaded then created[b] = new end
  end
  if type(edit.range) ~= 'table' or type(edit.oldText) ~= 'string' then return nil end
  local row, col = util.byte_position(b, edit.range.start, encoding)
  local end_row, end_col = util.byte_position(b, edit.range['end'], encoding)
  if text_between(b, row, col, end_row, end_col) == edit.oldText then return b end
end

-- The answer's edits by buffer, the asking one first: an edit names its document by
-- textDocument.uri (none: the asking buffer's). Another buffer's edits are kept only when its
-- changedtick is still the one in `ticks` (taken when asking): the server saw that text; an
-- edit in a file that was not open is checked against its oldText instead (disk_buffer).
-- Also returns the buffers loaded for this answer (`created`, see disk_buffer).
local function edits_by_buffer(bufnr, edits, ticks, encoding)
  local own_uri = vim.uri_from_bufnr(bufnr)
  local order, by_buffer, created = { bufnr }, { [bufnr] = {} }, {}
  for _, edit in ipairs(edits) do
    local doc = type(edit) == 'table' and type(edit.textDocument) == 'table' and edit.textDocument or {}
    local uri = doc.uri or own_uri
    local b
    if uri == own_uri then b = bufnr
    -- JSON null: vim.NIL, or nil where the client decodes with luanil (Neovim 0.7 to 0.9).
    elseif type(doc.version) ~= 'number' then b = disk_buffer(uri, edit, encoding, created)
    else
      b = loaded_buffer(uri)
      if b and not (ticks[b] and ticks[b] == tick(b)) then b = nil end
    end
    if b then
      if not by_buffer[b] then
        by_buffer[b] = {}
        table.insert(order, b)
      end
      table.insert(by_buffer[b], edit)
    end
  end
  return order, by_buffer, created
end

-- Draws an answer's edits in their buffers as one group. Returns how many sites were drawn.
local function show_answer(bufnr, edits, encoding, ticks)
  local order, by_buffer, created = edits_by_buffer(bufnr, edits, ticks or {}, encoding)
  for _, b in ipairs(order) do
    if b ~= bufnr then M.dismiss(b) end -- whatever another answer drew there
  end
  local group, drawn, in_group = {}, 0, {}
  for _, b in ipairs(order) do
    local count = M.show(b, by_buffer[b], encoding)
    if count > 0 or b == bufnr then
      table.insert(group, b)
      in_group[b] = true
    end
    drawn = drawn + count
  end
  for _, b in ipairs(group) do state(b).group = group end
  -- A file loaded only for this answer that got no site is not kept loaded for nothing (never
  -- modified: nothing is lost). A buffer that existed unloaded before is only unloaded again.
  for b, new in pairs(created) do
    if not in_group[b] and vim.api.nvim_buf_is_valid(b) then
      pcall(vim.api.nvim_buf_delete, b, { force = true, unload = not new })
      states[b] = nil
    end
  end
  if drawn > 0 then map(bufnr) end -- the keys jump on from here even when all sites are elsewhere
  return drawn
end

-- The changedticks of the buffers next edits are attached to: an answer's sites in them are
-- drawn only if they have not changed since.
local function attached_ticks()
  local ticks = {}
  for b, st in pairs(states) do
    if st.attached and vim.api.nvim_buf_is_valid(b) then ticks[b] = tick(b) end
  end
  return ticks
end

-- What the request callback does with an answer (tests feed it canned answers too): drawn only
-- when the buffer is still at `asked_tick`, the changedtick the request was made for.
function M.on_result(bufnr, asked_tick, err, result, encoding, ticks)
  local st = state(bufnr)
  st.answers = st.answers + 1
  st.last_result = result
  if err then
    if err.code ~= REQUEST_CANCELLED then util.notify('next edits failed: ' .. tostring(err.message), vim.log.levels.DEBUG) end
    return false
  end
  if not vim.api.nvim_buf_is_valid(bufnr) or tick(bufnr) ~= asked_tick then return false end -- moved on
  if type(result) ~= 'table' or type(result.edits) ~= 'table' then return false end
  return show_answer(bufnr, result.edits, encoding or 'utf-16', ticks) > 0
end

function M.request(bufnr)
  local c = client(bufnr)
  if not c or not enabled() then return false end
  M.cancel(bufnr)
  local st = state(bufnr)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local encoding = c.offset_encoding or 'utf-16'
  local asked = tick(bufnr)
  local ticks = attached_ticks()
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = util.lsp_position(bufnr, cursor[1] - 1, cursor[2], encoding),
  }
  local ok, request_id
  ok, request_id = compat.request(c, 'maskfill/nextEdits', params, function(err, result)
    if st.request_id ~= request_id then return end -- superseded
    st.request_id = nil
    M.on_result(bufnr, asked, err, result, encoding, ticks)
  end, bufnr)
  if ok then st.request_id = request_id end
  return ok
end

-- After a change: a change the user made (not our own apply) drops what is shown; once the
-- buffer settles outside insert mode, ask about the latest edit.
function M.on_change(bufnr, insert_mode)
  if not enabled() then return end
  local st = state(bufnr)
  local now = tick(bufnr)
  if #st.sites > 0 and now ~= st.shown_tick then M.dismiss(bufnr) end
  if insert_mode then return M.cancel(bufnr) end
  if now == st.asked_tick then return end -- asked already, or the change was our own apply
  st.asked_tick = now
  M.cancel(bufnr)
  st.timer = st.timer or compat.uv.new_timer()
  st.timer:start(config.options.next_edit.debounce_ms, 0, vim.schedule_wrap(function()
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then return end
    if tick(bufnr) ~= now or vim.api.nvim_get_mode().mode:match('^[iR]') then return end
    M.request(bufnr)
  end))
end

-- Shows `bufnr` in the current window (its window, when one in this tab shows it), keeping the
-- sites of the buffer left.
local function go_to_buffer(bufnr)
  jumping = true
  -- A file loaded hidden for its sites (disk_buffer) is one the user now visits: :ls lists it.
  vim.bo[bufnr].buflisted = true
  local window = vim.fn.bufwinid(bufnr)
  local ok = pcall(function()
    if window ~= -1 then vim.api.nvim_set_current_win(window) else vim.api.nvim_set_current_buf(bufnr) end
  end)
  jumping = false
  return ok
end

-- The next buffer of the group after `bufnr` (wrapping) that still shows sites.
local function next_buffer_with_sites(bufnr)
  local group = state(bufnr).group or { bufnr }
  local at = 1
  for i, b in ipairs(group) do if b == bufnr then at = i end end
  for step = 1, #group - 1 do
    local b = group[(at - 1 + step) % #group + 1]
    if vim.api.nvim_buf_is_valid(b) and #M.sites(b) > 0 then return b end
  end
end

-- After the buffer's last site was applied: its keys stay while another buffer of its group
-- still shows sites (they jump there); once none does, every buffer of the group lets them go.
local function settle(bufnr)
  if next_buffer_with_sites(bufnr) then return end
  for _, b in ipairs(state(bufnr).group or { bufnr }) do
    if states[b] then
      clear(b)
      states[b].group = nil
    end
  end
end

-- Closes the undo block, so the next change starts its own (setting 'undolevels' syncs undo).
local function break_undo(bufnr)
  vim.api.nvim_buf_call(bufnr, function() vim.cmd('let &g:undolevels = &g:undolevels') end)
end

-- Applies `site` (from M.sites) as one undo step and reports it accepted. False when the text
-- there is no longer what the suggestion was drawn over.
function M.apply(bufnr, site)
  local st = state(bufnr)
  if text_between(bufnr, site.row, site.col, site.end_row, site.end_col) ~= site.old then return false end
  break_undo(bufnr)
  vim.api.nvim_buf_set_text(bufnr, site.row, site.col, site.end_row, site.end_col, vim.split(site.new, '\n', { plain = true }))
  break_undo(bufnr)
  drop(bufnr, site)
  -- Our own change: the other sites stay (their marks moved with the text) and it is not asked about.
  st.shown_tick, st.asked_tick = tick(bufnr), tick(bufnr)
  if vim.api.nvim_get_current_buf() == bufnr then vim.api.nvim_win_set_cursor(0, { site.row + 1, site.col }) end
  if #st.sites == 0 then settle(bufnr) end
  local c = client(bufnr)
  if c then
    compat.request(c, 'workspace/executeCommand', { command = 'maskfill.didAcceptNextEdit', arguments = { site.id } }, function() end, bufnr)
  end
  return true
end

-- The site under the cursor (an empty site counts when the cursor is on its position).
local function site_at_cursor(sites, row, col)
  for _, site in ipairs(sites) do
    local after_start = row > site.row or (row == site.row and col >= site.col)
    local before_end = row < site.end_row or (row == site.end_row and (col < site.end_col or (col == site.col and site.end_col == site.col)))
    if after_start and before_end then return site end
  end
end

-- On a site: apply it. Elsewhere: move the cursor to the next site after it, else to the first
-- site of the group's next buffer that has any, else back to this buffer's first site.
-- Returns 'applied', 'jumped' or nil when nothing is shown.
function M.jump_or_apply(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local sites = M.sites(bufnr)
  if #sites == 0 then
    local other = next_buffer_with_sites(bufnr)
    if not other or not go_to_buffer(other) then return nil end
    local first = M.sites(other)[1]
    vim.api.nvim_win_set_cursor(0, { first.row + 1, first.col })
    return 'jumped'
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local here = site_at_cursor(sites, row, col)
  if here then
    if M.apply(bufnr, here) then return 'applied' end
    -- The text under it changed without a new changedtick being seen: drop that one site.
    drop(bufnr, here)
    notify_server(bufnr, 'maskfill/didRejectNextEdit', { id = here.id })
    return M.jump_or_apply(bufnr)
  end
  local target
  for _, site in ipairs(sites) do
    if site.row > row or (site.row == row and site.col > col) then target = site break end
  end
  local other = not target and next_buffer_with_sites(bufnr)
  if other and go_to_buffer(other) then
    target = M.sites(other)[1]
  end
  target = target or sites[1]
  vim.api.nvim_win_set_cursor(0, { target.row + 1, target.col })
  return 'jumped'
end

function M.attach(bufnr)
  local st = state(bufnr)
  if st.attached then return end
  st.attached = true
  st.asked_tick = tick(bufnr) -- the text as opened is no edit
  local group = vim.api.nvim_create_augroup('maskfill_next_edit_' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ 'TextChanged', 'InsertLeave' }, {
    group = group, buffer = bufnr, callback = function() M.on_change(bufnr, false) end,
  })
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP' }, {
    group = group, buffer = bufnr, callback = function() M.on_change(bufnr, true) end,
  })
  vim.api.nvim_create_autocmd('BufLeave', {
    group = group, buffer = bufnr, callback = function() if not jumping then M.dismiss(bufnr) end end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group, buffer = bufnr, callback = function()
      M.dismiss(bufnr)
      if st.timer then st.timer:close() end
      states[bufnr] = nil
    end,
  })
end

return M
