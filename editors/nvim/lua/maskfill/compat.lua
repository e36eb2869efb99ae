-- What differs between Neovim 0.7 and 0.12, decided in one place. `new(v)` takes the `vim`
-- API table (the real one by default; tests/compat_spec.lua passes stubs shaped like 0.7, 0.10,
-- 0.11 and 0.12), so the 0.11/0.12 paths are unit-tested on Debian's 0.7.2.
--
--   0.11+ : vim.lsp.config('maskfill', ...) + lsp/maskfill.lua, vim.lsp.start, client:method() calls,
--           vim.uv, str_utfindex(s, encoding, index, strict) / str_byteindex(s, encoding, index, strict)
--   0.8+  : vim.lsp.start(config, {bufnr})
--   0.7   : vim.lsp.start_client + vim.lsp.buf_attach_client, client.method() calls, vim.loop
--   0.12+ : vim.lsp.inline_completion (native ghost text), used when options.native is set
local M = {}

function M.new(v)
  v = v or vim
  local C = {}
  local function has(version) return v.fn.has('nvim-' .. version) == 1 end

  C.uv = v.uv or v.loop
  C.method_calls = has('0.11') -- client.request(...) is deprecated there in favour of client:request(...)

  -- Client methods: `client:name(...)` on 0.11+, `client.name(...)` before.
  function C.call(client, name, ...)
    if C.method_calls then return client[name](client, ...) end
    return client[name](...)
  end
  function C.request(client, method, params, handler, bufnr) return C.call(client, 'request', method, params, handler, bufnr) end
  function C.request_sync(client, method, params, timeout, bufnr) return C.call(client, 'request_sync', method, params, timeout, bufnr) end
  function C.cancel_request(client, id) return C.call(client, 'cancel_request', id) end
  function C.stop(client) return C.call(client, 'stop') end
  function C.is_stopped(client) return C.call(client, 'is_stopped') end

  -- Byte column → LSP character index in `encoding`.
  function C.utf_index(line, byte_col, encoding)
    if encoding == 'utf-8' then return byte_col end
    if has('0.11') then return v.str_utfindex(line, encoding, byte_col, false) end
    local utf32, utf16 = v.str_utfindex(line, byte_col)
    return encoding == 'utf-32' and utf32 or utf16
  end
  -- LSP character index in `encoding` → byte column; errors past the end (callers clamp).
  function C.byte_index(line, index, encoding)
    if encoding == 'utf-8' then return index end
    if has('0.11') then return v.str_byteindex(line, encoding, index, false) end
    return v.str_byteindex(line, index, encoding ~= 'utf-32')
  end

  -- How the client is started: 'config' (0.11+), 'start' (0.8-0.10) or 'start_client' (0.7).
  function C.start_mode()
    if has('0.11') and type(v.lsp.config) ~= 'nil' and v.lsp.start then return 'config' end
    if v.lsp.start then return 'start' end
    return 'start_client'
  end

  -- Starts (or reuses) the maskfill client for `bufnr` and attaches it; returns the client id.
  -- On 0.11+ the plugin's options go through vim.lsp.config, so they merge with lsp/maskfill.lua
  -- and with the user's own vim.lsp.config('maskfill', ...).
  function C.start(config, bufnr)
    local mode = C.start_mode()
    if mode == 'config' then
      v.lsp.config('maskfill', config)
      local resolved = v.lsp.config.maskfill or config
      return v.lsp.start(resolved, { bufnr = bufnr })
    elseif mode == 'start' then
      return v.lsp.start(config, { bufnr = bufnr })
    end
    local id = v.lsp.start_client(config)
    if id and bufnr and not v.lsp.buf_is_attached(bufnr, id) then v.lsp.buf_attach_client(bufnr, id) end
    return id
  end

  -- The project root of `bufnr`'s file: the nearest folder above it holding one of `markers`
  -- (vim.fs.root on 0.10+, vim.fs.find on 0.8+); the current directory when none does, when
  -- the buffer has no file, and on 0.7.
  function C.root_dir(bufnr, markers)
    local name = v.api.nvim_buf_get_name(bufnr)
    local found
    if name ~= '' and markers and #markers > 0 then
      if v.fs and v.fs.root then
        found = v.fs.root(bufnr, markers)
      elseif v.fs and v.fs.find then
        local hit = v.fs.find(markers, { upward = true, path = v.fs.dirname(name) })[1]
        found = hit and v.fs.dirname(hit)
      end
    end
    return found or C.uv.cwd()
  end

  -- A throw-away client not attached to any buffer (for :checkhealth).
  function C.start_detached(config)
    if C.start_mode() == 'config' then
      return v.lsp.start(config, { attach = false, reuse_client = function() return false end })
    end
    return v.lsp.start_client(config)
  end

  -- A handler that records what we need and then lets Neovim's own handler run, so the client
  -- still learns about dynamic registrations (0.12's inline completion attaches on them).
  function C.chain_handler(method, ours)
    return function(err, result, ctx, config)
      ours(err, result, ctx, config)
      local default = v.lsp.handlers[method]
      if default then return default(err, result, ctx, config) end
      return v.NIL
    end
  end

  -- The native inline completion module of 0.12+, when the options ask for it.
  function C.native_inline(options)
    local inline = v.lsp.inline_completion
    if options.native and inline and inline.enable and inline.get and inline.select then return inline end
    return nil
  end

  return C
end

return M
