-- Position conversions between Neovim (0-based rows, byte columns) and LSP (offset encoding).
local compat = require('maskfill.compat').new()

local M = {}

-- Stops what a buffer's state (ghost text's, next edit's) has pending: the debounce timer and
-- the request in flight with `client`, cancelled on the server too.
function M.stop_pending(st, client)
  if st.timer then st.timer:stop() end
  if st.request_id then
    if client then compat.cancel_request(client, st.request_id) end
    st.request_id = nil
  end
end

local function line_text(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end
M.line_text = line_text

-- Byte column → LSP character in `encoding`.
function M.to_lsp_char(line, byte_col, encoding)
  byte_col = math.min(byte_col, #line)
  return compat.utf_index(line, byte_col, encoding)
end

-- LSP character in `encoding` → byte column (clamped to the line).
function M.to_byte_col(line, character, encoding)
  if encoding == 'utf-8' then return math.min(character, #line) end
  local ok, col = pcall(compat.byte_index, line, character, encoding)
  return ok and col or #line
end

function M.lsp_position(bufnr, row, byte_col, encoding)
  return { line = row, character = M.to_lsp_char(line_text(bufnr, row), byte_col, encoding) }
end

function M.byte_position(bufnr, position, encoding)
  return position.line, M.to_byte_col(line_text(bufnr, position.line), position.character, encoding)
end

-- Range of a command: whole lines line1..line2 (1-based), or the characterwise visual selection
-- when the command was given one ('<,'> in 'v' mode). End is exclusive, as LSP wants.
function M.command_range(bufnr, opts, encoding)
  local start_row, start_col, end_row, end_col = opts.line1 - 1, 0, opts.line2 - 1, nil
  local vstart, vend = vim.api.nvim_buf_get_mark(bufnr, '<'), vim.api.nvim_buf_get_mark(bufnr, '>')
  if opts.range == 2 and vim.fn.visualmode() == 'v' and vstart[1] == opts.line1 and vend[1] == opts.line2 then
    start_col = vstart[2]
    local last = line_text(bufnr, end_row)
    local col = math.min(vend[2], #last)
    if col < #last then -- make the inclusive last character exclusive
      local utf32 = compat.utf_index(last, col, 'utf-32')
      col = compat.byte_index(last, utf32 + 1, 'utf-32')
    end
    end_col = col
  end
  end_col = end_col or #line_text(bufnr, end_row)
  return {
    start = M.lsp_position(bufnr, start_row, start_col, encoding),
    ['end'] = M.lsp_position(bufnr, end_row, end_col, encoding),
  }
end

function M.notify(msg, level)
  vim.notify('maskfill: ' .. msg, level or vim.log.levels.INFO)
end

return M
