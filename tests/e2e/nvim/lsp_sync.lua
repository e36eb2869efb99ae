-- Headless Neovim (Debian's 0.7.2, and 0.12) attaches `maskfill lsp` (vim.lsp.start_client on
-- 0.7, vim.lsp.start on 0.8+), edits a buffer (random set_text / set_lines edits with non-ASCII
-- text, using Neovim's own incremental didChange), and checks through maskfill/debugDocument
-- that the server's copy equals the buffer, in the position encoding the two agreed on (UTF-16
-- with 0.7; 0.12 offers UTF-8 too, which the server prefers).
-- Run: MASKFILL_BUILD_DIR=... nvim --headless -u NONE -c 'luafile lsp_sync.lua'
local function fail(message)
  io.stderr:write('not ok - ' .. message .. '\n')
  vim.cmd('cquit 1')
end

local ok, err = pcall(function()
  local build = assert(os.getenv('MASKFILL_BUILD_DIR'), 'set MASKFILL_BUILD_DIR')
  local exit_code
  local config = {
    name = 'maskfill',
    cmd = { build .. '/maskfill', 'lsp', '--enable-test-methods', '--log-level', 'warn' },
    root_dir = vim.fn.getcwd(),
    on_exit = function(code) exit_code = code end,
  }
  local modern = vim.fn.has('nvim-0.11') == 1 -- client:method() calls; start_client deprecated
  local client_id
  if modern then
    client_id = vim.lsp.start(config, { attach = false })
  else
    client_id = vim.lsp.start_client(config)
  end
  assert(client_id, 'starting the client failed')
  local function call(client, name, ...)
    if modern then return client[name](client, ...) end
    return client[name](...)
  end

  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_buf_set_name(buf, vim.fn.tempname() .. '.py')
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'import os', '', 'def main():', '    return "héllo 😀"' })
  vim.api.nvim_buf_set_option(buf, 'filetype', 'python')
  vim.lsp.buf_attach_client(buf, client_id)
  assert(vim.wait(60000, function()
    local client = vim.lsp.get_client_by_id(client_id)
    return client and client.initialized
  end, 10), 'the server did not initialize within 60 s')
  local client = vim.lsp.get_client_by_id(client_id)
  local expected_encoding = vim.fn.has('nvim-0.10') == 1 and 'utf-8' or 'utf-16'
  assert(client.offset_encoding == expected_encoding,
    ('encoding %s, expected %s'):format(tostring(client.offset_encoding), expected_encoding))
  print('ok - attached with position encoding ' .. client.offset_encoding)

  local uri = vim.uri_from_bufnr(buf)
  local function server_copy()
    local response, request_err = call(client, 'request_sync', 'maskfill/debugDocument', { uri = uri }, 5000, buf)
    assert(response and not response.err, 'debugDocument failed: ' .. vim.inspect(request_err or response))
    return response.result
  end
  local function buffer_text()
    local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
    if vim.api.nvim_buf_get_option(buf, 'eol') then text = text .. '\n' end
    return text
  end
  assert(vim.wait(5000, function() return server_copy().text == buffer_text() end, 20), 'didOpen text differs')

  local snippets = { '', 'x', ' ', '(', ')', ':', 'é', '😀', '𝔘𝔫', 'if x:', '    pass', '"s"', '[1, 2]' }
  math.randomseed(7)
  -- A byte column on a character boundary (str_utfindex counts characters, str_byteindex maps back).
  local function random_column(row)
    local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
    return vim.str_byteindex(line, math.random(0, vim.str_utfindex(line)))
  end
  for step = 1, 150 do
    local count = vim.api.nvim_buf_line_count(buf)
    local kind = math.random(1, 10)
    if kind <= 7 then
      local row1 = math.random(0, count - 1)
      local row2 = math.min(count - 1, row1 + math.random(0, 1))
      local col1 = random_column(row1)
      local col2 = random_column(row2)
      if row1 == row2 and col2 < col1 then col1, col2 = col2, col1 end
      local insert = snippets[math.random(#snippets)]
      local lines = math.random(1, 4) == 1 and { insert, snippets[math.random(#snippets)] } or { insert }
      vim.api.nvim_buf_set_text(buf, row1, col1, row2, col2, lines)
    elseif kind <= 9 then
      local row = math.random(0, count)
      vim.api.nvim_buf_set_lines(buf, row, row, false, { snippets[math.random(#snippets)] .. 'y = 1' })
    elseif count > 1 then
      local row = math.random(0, count - 2)
      vim.api.nvim_buf_set_lines(buf, row, row + 1, false, {})
    end
    if step % 25 == 0 then
      local server = server_copy()
      assert(server.text == buffer_text(),
        ('step %d: server text differs\nserver: %q\nbuffer: %q'):format(step, server.text, buffer_text()))
      assert(server.language == 'python' and server.tree:sub(1, 7) == '(module', 'no python tree')
    end
  end
  print('ok - buffer and server copy agree after 150 edits')

  call(client, 'stop')
  -- Generous: the wait ends at the exit, and a loaded machine can take seconds to unwind a
  -- model load in flight.
  assert(vim.wait(60000, function() return exit_code ~= nil end, 10), 'the server did not exit within 60 s')
  assert(exit_code == 0, 'server exit code ' .. tostring(exit_code))
  print('ok - shutdown and exit code 0')
end)

if not ok then fail(tostring(err)) end
vim.cmd('qall!')
