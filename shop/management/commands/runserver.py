"""``runserver`` that also runs the Celery beat schedule in-process when ``PERIODIC_IN_PROCESS`` is on (the embedded
default has no beat: shop/periodic.py). Django takes the first app in INSTALLED_APPS that has the command, so ``shop``
is listed before ``whitenoise.runserver_nostatic``; this subclasses WhiteNoise's command (which subclasses
staticfiles'), so static files are served as before."""

from whitenoise.runserver_nostatic.management.commands.runserver import Command as RunserverCommand

from shop import periodic


class Command(RunserverCommand):
    def inner_run(self, *args, **options):
        # The process that serves: the autoreloader's child (a fresh one after each reload), or the only process with
        # --noreload. The autoreloader's parent never gets here.
        scheduler = periodic.start_in_process()
        if scheduler is not None:
            self.stdout.write(f"Periodic tasks run in-process: {scheduler.describe()}")
        super().inner_run(*args, **options)
