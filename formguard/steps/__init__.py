"""The pipeline's steps, one module each, in the order ``pipeline.CHECKS`` runs them.

Every step is a function of one shape: ``check_<name>(attempt) -> Verdict | None``,
``None`` meaning "go on". A step reads the ``Attempt`` (``formguard.attempt``) and
the modules of state below it, never the pipeline. One step asks another: the
traps verify the captcha before they answer a fake success (``steps.traps``).
"""
