; Definitions for cross-file context (infill/definitions.h): @definition is the whole
; definition, @name its name. Module-level assignments count: constants and aliases are what
; other files import.
(class_definition name: (identifier) @name) @definition
(function_definition name: (identifier) @name) @definition
(module (expression_statement (assignment left: (identifier) @name)) @definition)
