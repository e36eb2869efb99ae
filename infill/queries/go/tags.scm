; Definitions for cross-file context (infill/definitions.h): @definition is the whole
; definition, @name its name.
(function_declaration name: (identifier) @name) @definition
(method_declaration name: (field_identifier) @name) @definition
(type_spec name: (type_identifier) @name) @definition
(const_spec name: (identifier) @name) @definition
(var_spec name: (identifier) @name) @definition
