-- Partial acceptance of a suggestion, as VS Code and llama.vim offer: the next word or the next
-- line of the text still to be inserted. Pure string logic, shared by the extmark ghost text and
-- the native (0.12) path.
local M = {}

-- The piece of `text` that accepting the next `kind` ('word' or 'line') inserts.
--  word: leading blanks plus one run of word characters (or of other non-blank characters);
--        at a line break: the break and the next line's indentation.
--  line: the rest of the current line; when the text starts with a line break: the break and
--        the whole next line.
function M.take(text, kind)
  if text == '' then return '' end
  if kind == 'line' then
    if text:sub(1, 1) == '\n' then
      local next_break = text:find('\n', 2, true)
      return next_break and text:sub(1, next_break - 1) or text
    end
    local first_break = text:find('\n', 1, true)
    return first_break and text:sub(1, first_break - 1) or text
  end
  local piece = text:match('^\n[ \t]*') or text:match('^[ \t]*[%w_]+') or text:match('^[ \t]*[^%w_%s]+') or text:match('^%s+')
  return piece or text:sub(1, 1)
end

return M
