-- Loaded at startup: defines the :Maskfill* commands, and sets maskfill up with defaults unless
-- the user's config already called require('maskfill').setup{...} or opted out with
-- vim.g.maskfill_autosetup = false.
if vim.g.loaded_maskfill then return end
vim.g.loaded_maskfill = true
if vim.fn.has('nvim-0.7') ~= 1 then
  vim.notify('maskfill needs Neovim 0.7 or newer', vim.log.levels.ERROR)
  return
end
local maskfill = require('maskfill')
-- The commands exist without setup() too, for users who only call vim.lsp.enable('maskfill').
require('maskfill.commands').register()
if not maskfill.is_setup() and vim.g.maskfill_autosetup ~= false then maskfill.setup({}) end
