"""One error tree. Every error Maestro raises on purpose is a MaestroError: its message is for the
user (one plain sentence), its `code` is for code (stable, never parsed out of the message).

    MaestroError
    ├── Cancelled            the user stopped it (a generation, a task, a download); not a failure
    ├── RequestRefused       a request refused before planning (too long), with the sentence to show
    ├── PlanError            a plan that cannot run; `problems` lists each PlanProblem (code + task)
    ├── ControllerError      the controller LLM cannot be loaded or reached
    ├── RunnerError          a task failed for a reason the user should read
    │   └── InputError       ... because of its input (wrong type, a reference to nothing)
    ├── NoModelError         no model can run a task here (offline, not installed, licence)
    ├── ModelMissing         a model's files are not in the cache
    ├── DownloadError        a download failed
    │   ├── OfflineError     ... because offline mode forbids the network
    │   └── DownloadCancelled  ... because the user cancelled it (also a Cancelled)
    ├── PackError            a wheel pack is missing or corrupt
    ├── PromptError          a prompt file is missing, or a placeholder it uses was not given
    ├── StoreError           the conversation database refused (newer schema, no such conversation)
    └── SecretsError         the OS keyring refused

The builtin second bases keep older `except ValueError / RuntimeError / FileNotFoundError` working.
"""

from __future__ import annotations

from dataclasses import dataclass


class MaestroError(Exception):
    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class Cancelled(MaestroError, RuntimeError):
    code = "cancelled"


class RequestRefused(MaestroError, ValueError):
    code = "request_refused"


class ControllerError(MaestroError, RuntimeError):
    code = "controller"


class RunnerError(MaestroError, RuntimeError):
    code = "task_failed"


class InputError(RunnerError):
    code = "bad_input"


class NoModelError(MaestroError):
    code = "no_model"

    @property
    def reason(self) -> str:  # why nothing can run the task (and how to fix it, where one can)
        return self.message


class ModelMissing(MaestroError, FileNotFoundError):
    code = "model_missing"


class DownloadError(MaestroError):
    code = "download"


class OfflineError(DownloadError):
    code = "offline"


class DownloadCancelled(DownloadError, Cancelled):
    code = "cancelled"


class PackError(MaestroError):
    code = "pack"


class PromptError(MaestroError, RuntimeError):
    code = "prompt"


class StoreError(MaestroError, RuntimeError):
    code = "store"


class SecretsError(MaestroError, RuntimeError):
    code = "secrets"


# -- plans -------------------------------------------------------------------------------------------

# What a PlanProblem's code means (the message says it for the user).
PLAN_PROBLEM_CODES = {
    "duplicate_id": "two tasks share an id",
    "unknown_task": "a task type Maestro does not know",
    "missing_dep": "a dependency that is not another task of the plan",
    "self_dep": "a task that depends on itself",
    "missing_arg": "a required argument is missing",
    "unknown_arg": "an argument the task does not take",
    "arg_type": "an argument that is not text",
    "dangling_ref": "a <resource>-N naming no task of the plan",
    "ref_not_in_dep": "a <resource>-N whose task is not among the dependencies",
    "modality": "a <resource>-N whose task outputs the wrong kind of data",
    "cycle": "tasks that depend on each other in a cycle",
    "unparsable": "the plan text is not a plan",
}


@dataclass(frozen=True)
class PlanProblem:
    code: str  # a key of PLAN_PROBLEM_CODES
    message: str  # one sentence, without the task number
    task_id: int | None = None

    def __str__(self) -> str:
        return f"task {self.task_id}: {self.message}" if self.task_id is not None else self.message


class PlanError(MaestroError, ValueError):
    code = "invalid_plan"

    def __init__(self, problems: list[PlanProblem] | list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[PlanProblem] = [p if isinstance(p, PlanProblem) else PlanProblem("unparsable", p)
                                            for p in problems]
        super().__init__("; ".join(map(str, self.problems)))

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]
