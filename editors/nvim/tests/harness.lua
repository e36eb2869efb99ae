-- Tiny async test runner for headless Neovim. Tests run in a coroutine; `wait_for` yields to the
-- event loop (so typed input, autocmds, timers and LSP messages are processed) until a condition
-- holds. Prints one line per test and "N passed, N failed, N skipped"; exits with :cquit on failure.
local H = {}
local tests = {}

function H.test(name, fn) table.insert(tests, { name = name, fn = fn }) end
function H.skip(name, reason) table.insert(tests, { name = name, skip = reason }) end

local function out(line)
  io.stdout:write(line .. '\n')
  io.stdout:flush()
end
H.out = out

function H.sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then out('harness error: ' .. tostring(err)); vim.cmd('cquit 2') end
  end, ms)
  coroutine.yield()
end

-- Every wait allows at least 15 s (the specs' figures of 2-5 s are ~50x the idle time, but a
-- loaded machine can stall a headless Neovim for seconds): a wait ends as soon as its condition
-- holds, so the margin costs nothing when things work. A timeout reports how long it waited.
H.MIN_TIMEOUT_MS = 15000

function H.wait_for(what, timeout_ms, cond)
  local started = vim.loop.now()
  local limit = math.max(timeout_ms, H.MIN_TIMEOUT_MS)
  local deadline = started + limit
  while true do
    local value = cond()
    if value then return value end
    if vim.loop.now() > deadline then
      error('timed out after ' .. (vim.loop.now() - started) .. ' ms (bound ' .. limit .. ' ms) waiting for ' .. what, 2)
    end
    H.sleep(20)
  end
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what or 'value', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(value, what)
  if not value then error((what or 'condition') .. ' is false', 2) end
  return value
end

function H.lines(bufnr) return vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false) end

-- Sends keys as if typed and lets the event loop process them.
function H.type(keys, settle_ms)
  vim.api.nvim_input(keys)
  H.sleep(settle_ms or 30)
end

function H.run()
  local co = coroutine.create(function()
    local passed, failed, skipped = 0, 0, 0
    for _, t in ipairs(tests) do
      if t.skip then
        skipped = skipped + 1
        out(('SKIP %s (%s)'):format(t.name, t.skip))
      else
        local ok, err = xpcall(t.fn, debug.traceback)
        if ok then passed = passed + 1; out('ok   ' .. t.name)
        else failed = failed + 1; out('FAIL ' .. t.name .. '\n' .. tostring(err)) end
      end
    end
    out(('%d passed, %d failed, %d skipped'):format(passed, failed, skipped))
    vim.cmd(failed > 0 and 'cquit 1' or 'qall!')
  end)
  local ok, err = coroutine.resume(co)
  if not ok then out('harness error: ' .. tostring(err)); vim.cmd('cquit 2') end
end

-- A scratch file on disk with `lines`, opened in the current window.
function H.open_file(name, lines)
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  local path = dir .. '/' .. name
  vim.fn.writefile(lines, path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf(), path
end

function H.ghost_marks(bufnr)
  return vim.api.nvim_buf_get_extmarks(bufnr, require('maskfill.ghost').ns, 0, -1, { details = true })
end

-- The text an inline-completion extmark shows: its first line and the virt_lines below it,
-- joined with "\n"; nil without a mark.
local function marks_text(marks)
  if #marks == 0 then return nil end
  local details = marks[1][4]
  local parts = { details.virt_text[1][1] }
  for _, line in ipairs(details.virt_lines or {}) do table.insert(parts, line[1][1]) end
  return table.concat(parts, '\n')
end

-- The plugin's own ghost text shown now.
function H.ghost_text(bufnr) return marks_text(H.ghost_marks(bufnr)) end

-- The same for Neovim 0.12's native inline completion (vim.lsp.inline_completion's marks).
function H.native_ghost_text(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then return nil end
  return marks_text(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true }))
end

-- Whichever ghost text is shown: the plugin's or the native one.
function H.any_ghost_text(bufnr) return H.ghost_text(bufnr) or H.native_ghost_text(bufnr) end

return H
