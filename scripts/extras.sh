# The extras a development checkout installs (sourced by setup.sh and lock.sh, so the lock
# always covers exactly what setup installs). Users who install the package pick their own.
DEFAULT_EXTRAS="math,text,instructions,audit,gym,rm,judge,serve,ray,bench,test-trl,test-serve,dev"
