"""A twelfth set of wordings for the synthetic incident day (half=11), written by someone who had not
read the grouping code nor the earlier sets, before its one measurement."""

from __future__ import annotations

LOGIN_TWELFTH: list[str] = [
    "cant log in?? app just says 'something went wrong' every single time",
    "is it just me or is the acme app not letting anyone sign in rn",
    "spinning wheel then kicked back to the start screen. tried {n} times now",
    "password reset email never comes so im locked out lol great",
    "ERROR 401 on the website when i try to get into my account. iphone 13, safari",
    "app keeps chucking me out the second i open my basket",
    "wanted to check where my order is but the app wont let me past the sign in page",
    "face id not working on the acme app anymore, just loops back round",
    "why does it say my password is wrong when i literally just reset it 2 mins ago",
    "ACCOUNT LOCKED?? i did nothing",
    "tried to use my birthday voucher but cant even get into my account to see it smh",
    "website says 'session expired' every 30 seconds. unusable",
    "hi, i am not able to enter in my account since morning, it show error code AUTH-503. please help",
    "stuck on 'verifying...' forever. android 14, pixel 7",
    "login broken again? anyone else",
    "the 2fa code arrives then it says invalid. tried {n} codes",
    "can't access my acme acc on the app OR desktop. whats going on",
    "been trying to check my loyalty points for an hour, keeps bouncing me to the home page",
    "'we couldn't verify your details' ... mate they're MY details",
    "sign in button does nothing. just nothing. tap tap tap",
]


PAYMENT_TWELFTH: list[str] = [
    "checkout just fails. every. time.",
    "my card got rejected three times and theres plenty of money on it",
    "got charged £{n} but no order confirmation?? where's my order",
    "payment failed error PAY-500 on the app, tried apple pay and visa",
    "is checkout down? basket wont go thru",
    "trying to order a birthday present before the cutoff and it keeps saying transaction declined",
    "bank app shows the money gone, acme says no order. brilliant",
    "paypal pops up then closes and nothing happens",
    "click place order -> spinny thing -> 'something went wrong, you have not been charged'. except i have",
    "card declined on acme but works everywhere else. sort it out",
    "cant buy anything on ur site today, pay page just errors",
    "charged twice for one order wtf",
    "hello, my payment is not accept, i try {n} times with different cards. is problem from your side?",
    "tried click & collect, got to the pay bit and it just hangs",
    "order not going through. 3ds screen shows up then blank page",
    "WHY IS EVERY CARD DECLINED",
]


BACKGROUND_TWELFTH: list[str] = [
    "logged in to check and my refund STILL isnt there. been {n} days",
    "paid for next day delivery and it came {n} days late. want my money back",
    "my {item} arrived smashed lol",
    "courier left my parcel in the bin. actually in the bin",
    "{city} store staff were so rude today",
    "app crashes every time i open the store finder",
    "stop sending me marketing emails every day pls",
    "the {item} i bought in {month} has already broken",
    "got someone elses order?? its a {item} and i didnt order that",
    "where is my parcel. tracking hasnt updated since tuesday",
    "refund went back to an old card i cancelled, how do i get it",
    "self checkout at {city} kept shouting unexpected item in bagging area",
    "signed up for the newsletter and now i get spam from 3 other companies??",
    "queue at the {city} tills was {n} people deep and one till open",
    "price dropped on my {item} the day after i paid, can i get the difference",
    "your app update moved all the buttons around, hate it",
    "delivery driver was lovely tbh, shoutout",
    "return label wont print",
    "voucher code from the email says expired but it says valid til end of {month}",
    "logged into my account and my address is showing as an old one, how do i change it",
    "ordered a {item} in blue, got pink",
    "the checkout staff at {city} were great but the car park is a nightmare",
    "was charged a restocking fee for a return?? never heard of that",
    "out of stock online and in store for {n} weeks now",
]
