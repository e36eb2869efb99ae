-- Neovim 0.11+: the maskfill server for vim.lsp.config / vim.lsp.enable.
--   vim.lsp.enable('maskfill')                       -- with the plugin's defaults
--   vim.lsp.config('maskfill', { init_options = {...} })  -- to change them
-- require('maskfill').setup{...} does the same with the plugin's own options.
return require('maskfill').lsp_config()
