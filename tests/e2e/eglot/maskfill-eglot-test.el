;;; maskfill-eglot-test.el --- maskfill lsp driven by Emacs' eglot, a generic LSP client -*- lexical-binding: t -*-
;; Batch test (tests/suites/eglot.sh): start `maskfill lsp` with eglot on a Python sample, wait for
;; the model, list code actions on a range, run "Fill selection" and "Edit with instruction" (the
;; instruction as an argument, since eglot cannot prompt), and check that each edit came through
;; workspace/applyEdit and landed in the buffer. Also: the edit command without an instruction gets
;; a clear error. No maskfill-specific client code is involved.
(require 'cl-lib)
(require 'eglot)
(require 'python)

(defvar maskfill-test-failures 0)
(defvar maskfill-test-applied 0 "workspace/applyEdit requests eglot handled.")

(defun maskfill-test-log (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n") #'external-debugging-output))

(defmacro maskfill-test (name &rest body)
  (declare (indent 1))
  `(let ((start (float-time)))
     (condition-case err
         (let ((detail (progn ,@body)))
           (maskfill-test-log "ok   %s (%.1f s)%s" ,name (- (float-time) start)
                              (if (stringp detail) (concat ": " detail) "")))
       (error (setq maskfill-test-failures (1+ maskfill-test-failures))
              (maskfill-test-log "FAIL %s: %s" ,name (error-message-string err))))))

(defun maskfill-test-check (condition what)
  (unless condition (error "check failed: %s" what)))

;; Count the server's edits as eglot handles them (eglot answers {applied: t} itself).
(advice-add 'eglot--apply-workspace-edit :before
            (lambda (&rest _) (setq maskfill-test-applied (1+ maskfill-test-applied))))

(setq eglot-confirm-server-initiated-edits nil   ; batch mode: no y-or-n-p
      eglot-sync-connect 60
      eglot-connect-timeout 120
      eglot-send-changes-idle-time 0.1
      jsonrpc-default-request-timeout 600)       ; the model runs on the CPU

(let* ((binary (getenv "MASKFILL_BIN"))
       (sample (getenv "MASKFILL_SAMPLE"))
       (buffer (find-file-noselect sample))
       server)
  (set-buffer buffer)
  (python-mode)
  (maskfill-test "eglot starts maskfill lsp and initializes"
    (setq server (eglot '(python-mode) `(transient . ,(file-name-directory sample)) 'eglot-lsp-server
                        (list binary "lsp" "--log-level" "warn") "python"))
    (maskfill-test-check (and server (jsonrpc-running-p server)) "server running")
    (maskfill-test-check (eglot--server-capable :executeCommandProvider) "executeCommandProvider")
    (let ((commands (append (plist-get (eglot--server-capable :executeCommandProvider) :commands) nil)))
      (maskfill-test-check (member "maskfill.editWithInstruction" commands) "editWithInstruction listed")
      (format "commands %S" commands)))

  (maskfill-test "the model loads (maskfill/status)"
    (let ((deadline (+ (float-time) 300)) status)
      (while (progn (setq status (jsonrpc-request server :maskfill/status (make-hash-table)))
                    (and (member (plist-get status :state) '("loading" "busy")) (< (float-time) deadline)))
        (accept-process-output nil 0.2))
      (maskfill-test-check (equal (plist-get status :state) "ready") (format "status %S" status))
      (plist-get status :model)))

  (cl-flet ((region-of (from to)   ; from the start of line FROM up to the start of line TO (1-based)
              (save-excursion
                (goto-char (point-min)) (forward-line (1- from))
                (let ((beg (point))) (forward-line (- to from)) (list beg (point)))))
            (action-titled (actions title)
              (cl-find-if (lambda (a) (equal (plist-get a :title) title)) actions))
            (run (action &optional instruction)
              (let* ((command (plist-get action :command))
                     (argument (copy-sequence (aref (plist-get command :arguments) 0))))
                (when instruction (setq argument (plist-put argument :instruction instruction)))
                (eglot-execute-command server (intern (plist-get command :command)) (vector argument)))))

    (maskfill-test "code actions on a range, then Fill selection: the edit lands via workspace/applyEdit"
      (let* ((region (region-of 5 6))   ; the empty body of mean()
             (actions (eglot-code-actions (car region) (cadr region)))
             (titles (mapcar (lambda (a) (plist-get a :title)) actions))
             (before (buffer-string))
             (applied maskfill-test-applied))
        (maskfill-test-check (equal titles '("Fill selection with maskfill" "Edit with instruction…"))
                             (format "titles %S" titles))
        (let ((answer (run (action-titled actions "Fill selection with maskfill"))))
          (maskfill-test-check (eq (plist-get answer :applied) t) (format "executeCommand answer %S" answer)))
        (maskfill-test-check (= maskfill-test-applied (1+ applied)) "one workspace/applyEdit")
        (maskfill-test-check (not (equal before (buffer-string))) "the buffer changed")
        (format "mean() body is now %S"
                (buffer-substring-no-properties (car (region-of 5 5)) (cadr (region-of 5 6))))))

    (maskfill-test "Edit with instruction without an instruction: a clear error, nothing applied"
      (let* ((start (save-excursion (goto-char (point-min)) (re-search-forward "^def clamp") (line-number-at-pos)))
             (region (region-of start (+ start 5)))
             (action (action-titled (eglot-code-actions (car region) (cadr region)) "Edit with instruction…"))
             (applied maskfill-test-applied)
             (message (condition-case err (progn (run action) nil)
                        (jsonrpc-error (error-message-string err)))))
        (maskfill-test-check (and message (string-match-p "instruction" message)) (format "error %S" message))
        (maskfill-test-check (= applied maskfill-test-applied) "nothing applied")
        message))

    (maskfill-test "Edit with instruction (instruction as an argument): the edit lands via workspace/applyEdit"
      (let* ((start (save-excursion (goto-char (point-min)) (re-search-forward "^def clamp") (line-number-at-pos)))
             (region (region-of start (+ start 5)))
             (action (action-titled (eglot-code-actions (car region) (cadr region)) "Edit with instruction…"))
             (before (buffer-string))
             (applied maskfill-test-applied))
        (maskfill-test-check action "the action is offered")
        (let ((answer (run action "Add a docstring.")))
          (maskfill-test-check (eq (plist-get answer :applied) t) (format "executeCommand answer %S" answer)))
        (maskfill-test-check (= maskfill-test-applied (1+ applied)) "one workspace/applyEdit")
        (maskfill-test-check (not (equal before (buffer-string))) "the buffer changed")
        ;; The server's copy follows the buffer: new code actions carry eglot's current version.
        (let* ((again (car (eglot-code-actions (point-min) (point-min) nil)))
               (version (plist-get (aref (plist-get (plist-get again :command) :arguments) 0) :version)))
          (maskfill-test-check (equal version eglot--versioned-identifier)
                               (format "server version %S, eglot version %S" version eglot--versioned-identifier)))
        (let ((from (compare-strings before nil nil (buffer-string) nil nil)))
          (format "first change at character %d: %S" (1- (abs from))
                  (truncate-string-to-width (substring (buffer-string) (1- (abs from))) 60))))))

  (when server (ignore-errors (eglot-shutdown server)))
  (maskfill-test-log "%s" (if (zerop maskfill-test-failures) "eglot: all passed" (format "eglot: %d failed" maskfill-test-failures)))
  (kill-emacs (if (zerop maskfill-test-failures) 0 1)))
